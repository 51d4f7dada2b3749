#!/usr/bin/env bash
# Summary: helpers shared by every remote step script. Prepended to each script's text by components/remote.ts;
#          sourced from beside the script when an operator runs it from /opt/zombie/deploy/.
# Inputs:  ZF_HOST, ZF_ROOT, ZF_WORKER_UNIT, ZF_EXECUTOR_UNIT, ZF_TRACE (see README.md beside this file)
# Exit codes: none of its own; zf_fail exits with the code it is given.

ZF_HOST=${ZF_HOST:-$(hostname 2>/dev/null || echo unknown)}
ZF_ROOT=${ZF_ROOT:-/opt/zombie}
ZF_WORKER_UNIT=${ZF_WORKER_UNIT:-zombied-worker}
ZF_EXECUTOR_UNIT=${ZF_EXECUTOR_UNIT:-zombied-executor}
ZF_BIN_DIR=${ZF_BIN_DIR:-/usr/local/bin}
ZF_UNIT_DIR=${ZF_UNIT_DIR:-/etc/systemd/system}
ZF_ENV_FILE=${ZF_ENV_FILE:-/etc/default/zombied-worker}
ZF_EXECUTOR_SOCKET=${ZF_EXECUTOR_SOCKET:-/run/zombie/executor.sock}
if [[ "${ZF_TRACE:-}" == 1 ]]; then set -x; fi

# Exit codes: 1 failed check, 2 bad input, 3 deadline passed. Used by the scripts this is prepended to.
# shellcheck disable=SC2034  # read by the step scripts, not here
readonly ZF_EXIT_FAILED=1 ZF_EXIT_USAGE=2 ZF_EXIT_TIMEOUT=3

# zf_status STEP STATUS [key=value ...]: the one status line a step prints per outcome.
zf_status() {
  local step=$1 status=$2
  shift 2
  local line="step=${step} host=${ZF_HOST} status=${status}" kv
  for kv in "$@"; do
    if [[ "${kv#*=}" == *[[:space:]]* ]]; then line+=" ${kv%%=*}=\"${kv#*=}\""; else line+=" ${kv}"; fi
  done
  printf '%s\n' "$line"
}

# zf_fail STEP CODE key=value...: prints a fail status line and exits with CODE.
zf_fail() {
  local step=$1 code=$2
  shift 2
  zf_status "$step" fail "$@"
  exit "$code"
}

# zf_require STEP VAR...: every named input must be set and non-empty.
zf_require() {
  local step=$1 var
  shift
  for var in "$@"; do
    if [[ -z "${!var:-}" ]]; then zf_fail "$step" "$ZF_EXIT_USAGE" reason="missing input ${var}"; fi
  done
}

# zf_now: seconds since the epoch, from zf_now_ms below (the one clock of the steps).
zf_now() { local ms; ms=$(zf_now_ms); printf '%s' $(( ms / 1000 )); }

# zf_wait_until DEADLINE_SECONDS CMD...: runs CMD every 0.2 s until it succeeds; 1 when the deadline passes.
zf_wait_until() {
  local seconds=$1 end
  shift
  end=$(( $(zf_now) + seconds ))
  until "$@"; do
    if (( $(zf_now) >= end )); then return 1; fi
    sleep 0.2
  done
}

# zf_unit_state UNIT: systemd's ActiveState (active, activating, inactive, failed, ...).
zf_unit_state() { systemctl show -p ActiveState --value "$1" 2>/dev/null || echo unknown; }

zf_unit_active() { [[ "$(zf_unit_state "$1")" == active ]]; }
zf_unit_inactive() { [[ "$(zf_unit_state "$1")" =~ ^(inactive|failed)$ ]]; }

# zf_unit_restarts UNIT: how often systemd restarted it (NRestarts).
zf_unit_restarts() { systemctl show -p NRestarts --value "$1" 2>/dev/null || echo 0; }

# ---- Added for drain/stop/restart-executor/start-worker/verify/decommission (and the release switch deploy.sh
# ---- may share). Durations are seconds ("5", "1.5"); deadlines are absolute milliseconds from zf_now_ms.

# Results the helpers below leave for their callers: ZF_UNIT_DETAIL (what went wrong, the state given up in),
# ZF_UNIT_ACTION (started|restarted), ZF_PROP_<Prop> (zf_unit_show).
ZF_UNIT_DETAIL='' ZF_UNIT_ACTION=''
ZF_PROP_ActiveState='' ZF_PROP_SubState='' ZF_PROP_MainPID=''

# zf_fail_unit STEP CODE key=value...: a fail status line whose reason is ZF_UNIT_DETAIL; exits with CODE.
zf_fail_unit() {
  local step=$1 code=$2
  shift 2
  zf_fail "$step" "$code" "$@" reason="$ZF_UNIT_DETAIL"
}

# zf_now_ms: milliseconds since the epoch, without a fork (bash >= 5; either decimal separator). Every deadline of
# the steps is read from it. ZF_CLOCK_SKEW_FILE (tests only: test/scripts/harness.ts advanceClock) holds
# milliseconds to add, so a test makes a deadline pass when it says, not when a busy machine gets there.
zf_now_ms() {
  local us=${EPOCHREALTIME//[.,]/} skew=0
  if [[ -n "${ZF_CLOCK_SKEW_FILE:-}" && -s "$ZF_CLOCK_SKEW_FILE" ]]; then
    read -r skew <"$ZF_CLOCK_SKEW_FILE" || true
    if [[ ! "$skew" =~ ^[0-9]{1,12}$ ]]; then skew=0; fi
  fi
  printf '%s' "$(( ${us:0:${#us}-3} + skew ))"
}

# zf_ms SECONDS: "1.5" -> 1500.
zf_ms() {
  local whole=${1%%.*} frac=
  if [[ "$1" == *.* ]]; then frac=${1#*.}; fi
  frac="${frac}000"
  printf '%s' $(( 10#${whole:-0} * 1000 + 10#${frac:0:3} ))
}

# zf_elapsed START_MS: time since START_MS as "1.234s".
zf_elapsed() {
  local ms=$(( $(zf_now_ms) - $1 ))
  printf '%d.%03ds' $(( ms / 1000 )) $(( ms % 1000 ))
}

# zf_require_seconds STEP VAR...: each named input must be a number of seconds ("30", "1.5").
zf_require_seconds() {
  local step=$1 var
  shift
  for var in "$@"; do
    if [[ ! "${!var:-}" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
      zf_fail "$step" "$ZF_EXIT_USAGE" reason="${var} must be a number of seconds (got ${!var:-nothing})"
    fi
  done
}

# zf_require_one_of STEP VAR CHOICE...: the input must be one of the choices.
zf_require_one_of() {
  local step=$1 var=$2 choice
  shift 2
  for choice in "$@"; do if [[ "${!var:-}" == "$choice" ]]; then return 0; fi; done
  zf_fail "$step" "$ZF_EXIT_USAGE" reason="${var} must be one of: $* (got ${!var:-nothing})"
}

# zf_wait_ms DEADLINE_MS CMD...: runs CMD every 0.1 s until it succeeds; 1 when DEADLINE_MS passes first.
zf_wait_ms() {
  local end=$1
  shift
  until "$@"; do
    if (( $(zf_now_ms) >= end )); then return 1; fi
    sleep 0.1
  done
}

# zf_timeout_s DEADLINE_MS: seconds left until DEADLINE_MS, for timeout(1) ("0.1" at least).
zf_timeout_s() {
  local left=$(( $1 - $(zf_now_ms) ))
  if (( left < 100 )); then left=100; fi
  printf '%d.%03d' $(( left / 1000 )) $(( left % 1000 ))
}

# zf_unit_show UNIT PROP...: sets ZF_PROP_<Prop> from one `systemctl show` (systemd orders the lines its own
# way, so they are matched by name). 1 when systemctl answered nothing.
zf_unit_show() {
  local unit=$1 prop line args=() found=1
  shift
  for prop in "$@"; do args+=(-p "$prop"); printf -v "ZF_PROP_${prop}" '%s' ""; done
  while IFS= read -r line; do
    for prop in "$@"; do
      if [[ "$line" == "${prop}="* ]]; then printf -v "ZF_PROP_${prop}" '%s' "${line#*=}"; found=0; fi
    done
  done < <(systemctl show "${args[@]}" "$unit" 2>/dev/null)
  return "$found"
}

# zf_unit_describe UNIT: "ActiveState/SubState", e.g. "activating/auto-restart" for a crash-looping unit.
zf_unit_describe() {
  if zf_unit_show "$1" ActiveState SubState; then
    printf '%s/%s' "$ZF_PROP_ActiveState" "$ZF_PROP_SubState"
  else
    printf 'unknown'
  fi
}

# zf_unit_running UNIT: active (or reloading); "activating" is not running (a crash loop between attempts).
zf_unit_running() { [[ "$(zf_unit_state "$1")" =~ ^(active|reloading)$ ]]; }

# zf_stop_unit UNIT SECONDS: `systemctl stop`, bounded, then confirms the unit is inactive. Returns 0 stopped,
# 1 stop failed, 3 deadline passed; ZF_UNIT_DETAIL says what went wrong.
zf_stop_unit() {
  local unit=$1 seconds=$2 end rc=0 err
  end=$(( $(zf_now_ms) + $(zf_ms "$seconds") ))
  ZF_UNIT_DETAIL=''
  err=$(timeout --kill-after=2 "$seconds" systemctl stop "$unit" 2>&1) || rc=$?
  if (( rc == 124 || rc == 137 )); then
    ZF_UNIT_DETAIL="systemctl stop ${unit} did not return within ${seconds}s (state $(zf_unit_describe "$unit"))"
    return 3
  fi
  if (( rc != 0 )); then
    ZF_UNIT_DETAIL="systemctl stop ${unit} failed (exit ${rc}): ${err//$'\n'/ }"
    return 1
  fi
  if ! zf_wait_ms $(( end > $(zf_now_ms) + 1000 ? end : $(zf_now_ms) + 1000 )) zf_unit_inactive "$unit"; then
    ZF_UNIT_DETAIL="${unit} is $(zf_unit_describe "$unit") after systemctl stop"
    return 1
  fi
}

# zf_restart_executor SECONDS: restarts the executor and waits until it is active and its socket exists.
# Returns 0, 1 (restart refused), 3 (deadline passed); ZF_UNIT_DETAIL says the state it gave up in.
zf_restart_executor() {
  local seconds=$1 end rc=0 err
  end=$(( $(zf_now_ms) + $(zf_ms "$seconds") ))
  ZF_UNIT_DETAIL=''
  err=$(timeout --kill-after=2 "$seconds" systemctl restart "$ZF_EXECUTOR_UNIT" 2>&1) || rc=$?
  if (( rc == 124 || rc == 137 )); then
    ZF_UNIT_DETAIL="systemctl restart ${ZF_EXECUTOR_UNIT} did not return within ${seconds}s"
    return 3
  fi
  if (( rc != 0 )); then
    ZF_UNIT_DETAIL="systemctl restart ${ZF_EXECUTOR_UNIT} failed (exit ${rc}): ${err//$'\n'/ }"
    return 1
  fi
  if ! zf_wait_ms "$end" zf_executor_ready; then
    ZF_UNIT_DETAIL="${ZF_EXECUTOR_UNIT} is $(zf_unit_describe "$ZF_EXECUTOR_UNIT"), socket ${ZF_EXECUTOR_SOCKET} $(
      [[ -e "$ZF_EXECUTOR_SOCKET" ]] && echo present || echo missing) after ${seconds}s"
    return 3
  fi
}

zf_executor_ready() { zf_unit_active "$ZF_EXECUTOR_UNIT" && [[ -e "$ZF_EXECUTOR_SOCKET" ]]; }

# zf_start_worker SECONDS: starts the worker (restarts it when it is running or between crash-loop attempts) once
# the executor socket exists, and waits until it is active. Returns 0, 1, 3 like zf_restart_executor;
# ZF_UNIT_ACTION is started|restarted.
zf_start_worker() {
  local seconds=$1 end rc=0 err state
  end=$(( $(zf_now_ms) + $(zf_ms "$seconds") ))
  ZF_UNIT_DETAIL='' ZF_UNIT_ACTION=started
  # The worker connects to the executor once, without retry (facts/zombied.md): start it only after the socket.
  if ! zf_wait_ms "$end" test -e "$ZF_EXECUTOR_SOCKET"; then
    ZF_UNIT_DETAIL="executor socket ${ZF_EXECUTOR_SOCKET} missing after ${seconds}s (${ZF_EXECUTOR_UNIT} is $(
      zf_unit_describe "$ZF_EXECUTOR_UNIT"))"
    return 3
  fi
  state=$(zf_unit_state "$ZF_WORKER_UNIT")
  if [[ "$state" == failed ]]; then systemctl reset-failed "$ZF_WORKER_UNIT" >/dev/null 2>&1 || true; fi
  if [[ ! "$state" =~ ^(inactive|failed)$ ]]; then ZF_UNIT_ACTION=restarted; fi
  err=$(timeout --kill-after=2 "$(zf_timeout_s "$end")" systemctl "${ZF_UNIT_ACTION%ed}" "$ZF_WORKER_UNIT" 2>&1) || rc=$?
  if (( rc == 124 || rc == 137 )); then
    ZF_UNIT_DETAIL="systemctl ${ZF_UNIT_ACTION%ed} ${ZF_WORKER_UNIT} did not return within ${seconds}s"
    return 3
  fi
  if (( rc != 0 )); then
    ZF_UNIT_DETAIL="systemctl ${ZF_UNIT_ACTION%ed} ${ZF_WORKER_UNIT} failed (exit ${rc}): ${err//$'\n'/ }"
    return 1
  fi
  if ! zf_wait_ms "$end" zf_unit_active "$ZF_WORKER_UNIT"; then
    ZF_UNIT_DETAIL="${ZF_WORKER_UNIT} is $(zf_unit_describe "$ZF_WORKER_UNIT") after ${seconds}s"
    return 3
  fi
}

# ---- Releases: $ZF_ROOT/current -> releases/<v>, $ZF_ROOT/previous -> the release before (README.md).

# zf_release_of LINK: the release directory name LINK points at, or nothing.
zf_release_of() {
  local target
  target=$(readlink -- "$1" 2>/dev/null) || return 0
  printf '%s' "${target##*/}"
}

# zf_release_version NAME: the version recorded in releases/NAME/VERSION (the binaries have no --version).
zf_release_version() {
  local file="${ZF_ROOT}/releases/$1/VERSION" version=
  if [[ -r "$file" ]]; then read -r version <"$file" || true; fi
  printf '%s' "${version:-$1}"
}

# zf_relink TARGET LINK: points LINK at TARGET atomically (temp link + rename over it).
zf_relink() {
  ln -sfn -- "$1" "$2.zf-tmp.$$"
  mv -f -T -- "$2.zf-tmp.$$" "$2"
}

# zf_switch_current NAME: current -> releases/NAME and $ZF_BIN_DIR/{zombied,zombied-executor} -> current/<binary>.
# Leaves `previous` alone: deploy.sh moves it forward, a revert keeps it. 1 when the release is not installed.
zf_switch_current() {
  local name=$1 binary
  if [[ ! -d "${ZF_ROOT}/releases/${name}" ]]; then return 1; fi
  zf_relink "releases/${name}" "${ZF_ROOT}/current"
  mkdir -p -- "$ZF_BIN_DIR"
  for binary in zombied zombied-executor; do zf_relink "${ZF_ROOT}/current/${binary}" "${ZF_BIN_DIR}/${binary}"; done
}

# ---- Drain (drain.sh, decommission.sh, and verify.sh before a revert) ----
# Contract (DESIGN.md §4, facts/zombied.md): skip a worker that is not running, but stop a crash-looping one
# ("activating"); take a journal cursor, signal the main process, then wait for the completion line AFTER the
# cursor, or the main process to exit, or the deadline. The journal is followed (`journalctl -f`), not polled.

# Outcome, set by zf_drain_worker: ZF_DRAIN_RESULT is not-running | stopped (was crash-looping) | complete |
# exited | deadline | failed; ZF_DRAIN_STATE the unit's state at the start; ZF_DRAIN_IN_FLIGHT the last in-flight
# count the worker logged (or "unknown"); ZF_DRAIN_LAST its last log line; ZF_DRAIN_ELAPSED e.g. "1.234s".
ZF_DRAIN_RESULT='' ZF_DRAIN_STATE='' ZF_DRAIN_IN_FLIGHT=unknown ZF_DRAIN_LAST='' ZF_DRAIN_ELAPSED=0.000s

# zf_journal_cursor UNIT: the cursor of the unit's newest journal entry, or nothing when it has none. Taken with
# -u on purpose: systemd < 255 skips the first matching entry after a cursor of another unit (systemd#30288).
zf_journal_cursor() {
  local line cursor=''
  while IFS= read -r line; do
    if [[ "$line" == "-- cursor: "* ]]; then cursor=${line#-- cursor: }; fi
  done < <(journalctl -q --no-pager -u "$1" -n 1 --show-cursor -o cat 2>/dev/null || true)
  printf '%s' "$cursor"
}

# zf_drain_note LINE: remembers the worker's last line and in-flight count ("in_flight=N" or "N active runs").
zf_drain_note() {
  local line=${1//\"/\'}
  ZF_DRAIN_LAST=${line:0:200}
  if [[ "$line" =~ in_flight=([0-9]+) || "$line" =~ ([0-9]+)\ active\ runs? ]]; then
    ZF_DRAIN_IN_FLIGHT=${BASH_REMATCH[1]}
  fi
}

# zf_main_exited UNIT PID: the unit's main process is no longer PID, or the unit left the active state.
zf_main_exited() {
  zf_unit_show "$1" MainPID ActiveState || return 1
  [[ "$ZF_PROP_MainPID" != "$2" || ! "$ZF_PROP_ActiveState" =~ ^(active|reloading)$ ]]
}

# zf_journal_has UNIT CURSOR TEXT: TEXT is in an entry of UNIT after CURSOR (all entries when CURSOR is empty).
zf_journal_has() {
  local from=()
  if [[ -n "$2" ]]; then from=("--after-cursor=$2"); fi
  journalctl -q --no-pager -u "$1" "${from[@]}" -o cat 2>/dev/null | grep -qF -- "$3"
}

# zf_follow_drain UNIT CURSOR COMPLETE_LOG MAIN_PID END_MS: follows the unit's journal after CURSOR until the
# completion line, the main process's exit, or END_MS; sets ZF_DRAIN_RESULT complete | exited | deadline.
zf_follow_drain() {
  local unit=$1 cursor=$2 complete=$3 main_pid=$4 end=$5
  local from=(--no-tail) fd follower line partial='' open=1 next_check=0 rc
  if [[ -n "$cursor" ]]; then from+=("--after-cursor=$cursor"); fi
  # --no-tail: -f alone starts at the last 10 entries, which may hide the completion line (systemd#4739).
  exec {fd}< <(exec timeout "$(zf_timeout_s $(( end + 1000 )))" journalctl -q --no-pager -u "$unit" "${from[@]}" -f -o cat 2>/dev/null)
  follower=$!
  ZF_DRAIN_RESULT=deadline
  while (( $(zf_now_ms) < end )); do
    if (( open )); then
      rc=0
      IFS= read -r -t 0.2 -u "$fd" line || rc=$?
      if (( rc == 0 )); then
        line=$partial$line partial=''
        zf_drain_note "$line"
        if [[ "$line" == *"$complete"* ]]; then ZF_DRAIN_RESULT=complete; break; fi
      elif (( rc > 128 )); then
        partial+=$line
      else
        open=0 # journalctl ended early: fall back to reading the journal on every check below
      fi
    else
      sleep 0.2
      if zf_journal_has "$unit" "$cursor" "$complete"; then ZF_DRAIN_RESULT=complete; break; fi
    fi
    if (( $(zf_now_ms) >= next_check )); then
      next_check=$(( $(zf_now_ms) + 200 ))
      if zf_main_exited "$unit" "$main_pid"; then ZF_DRAIN_RESULT=exited; break; fi
    fi
  done
  kill "$follower" 2>/dev/null || true
  exec {fd}<&-
  # The worker may have logged the line and exited between two checks: say which one it was.
  if [[ "$ZF_DRAIN_RESULT" == exited ]] && zf_journal_has "$unit" "$cursor" "$complete"; then ZF_DRAIN_RESULT=complete; fi
  # Exiting is a drain only when it was a clean exit 0. A build that does not handle the drain signal dies of it
  # (facts/zombied.md: SIGUSR1 kills the zombied of that era), cutting its in-flight runs.
  if [[ "$ZF_DRAIN_RESULT" == exited ]] && ! zf_main_exited_cleanly "$unit"; then ZF_DRAIN_RESULT=died; fi
}

# zf_main_exited_cleanly UNIT: the unit's last main process exited with status 0 (ExecMainCode 1 = CLD_EXITED).
zf_main_exited_cleanly() {
  local ZF_PROP_ExecMainCode='' ZF_PROP_ExecMainStatus=''
  zf_unit_show "$1" ExecMainCode ExecMainStatus || return 1
  ZF_DRAIN_HOW="code=${ZF_PROP_ExecMainCode} status=${ZF_PROP_ExecMainStatus}"
  [[ "$ZF_PROP_ExecMainCode" == 1 && "$ZF_PROP_ExecMainStatus" == 0 ]]
}

# zf_drain_fields: the drain's outcome as status-line fields (in ZF_DRAIN_FIELDS), for drain.sh and decommission.sh.
zf_drain_fields() {
  ZF_DRAIN_FIELDS=(drain="$ZF_DRAIN_RESULT" elapsed="$ZF_DRAIN_ELAPSED")
  case "$ZF_DRAIN_RESULT" in
    not-running | stopped) ZF_DRAIN_FIELDS+=(state="$ZF_DRAIN_STATE") ;;
    deadline) ZF_DRAIN_FIELDS+=(state="$(zf_unit_describe "$ZF_WORKER_UNIT")" in_flight="$ZF_DRAIN_IN_FLIGHT" last="${ZF_DRAIN_LAST:-none}") ;;
    died) ZF_DRAIN_FIELDS+=(exit="${ZF_DRAIN_HOW:-unknown}" last="${ZF_DRAIN_LAST:-none}") ;;
  esac
}

# zf_drain_worker SIGNAL COMPLETE_LOG DEADLINE_S STOP_S: drains $ZF_WORKER_UNIT (see the contract above). Returns 0
# whatever the drain outcome (read ZF_DRAIN_RESULT); non-zero only when it could not act: 1 the signal or the stop of
# a crash-looping unit was refused, 3 that stop timed out (ZF_UNIT_DETAIL says why).
zf_drain_worker() {
  local signal=$1 complete=$2 deadline_s=$3 stop_s=$4 unit=$ZF_WORKER_UNIT start end cursor main_pid err rc=0
  start=$(zf_now_ms)
  ZF_DRAIN_IN_FLIGHT=unknown ZF_DRAIN_LAST='' ZF_UNIT_DETAIL=''
  ZF_DRAIN_STATE=$(zf_unit_describe "$unit")
  case "${ZF_DRAIN_STATE%%/*}" in
    active | reloading) ;;
    activating | deactivating)
      # A crash-looping unit sits in activating/auto-restart between attempts: not running, but it must not come
      # back after the drain step, so stop it (facts/zombied.md: their script skipped it and it kept restarting).
      ZF_DRAIN_RESULT=stopped
      zf_stop_unit "$unit" "$stop_s" || { rc=$?; ZF_DRAIN_RESULT=failed; }
      ZF_DRAIN_ELAPSED=$(zf_elapsed "$start")
      return "$rc"
      ;;
    *) ZF_DRAIN_RESULT=not-running ZF_DRAIN_ELAPSED=$(zf_elapsed "$start"); return 0 ;;
  esac
  end=$(( start + $(zf_ms "$deadline_s") ))
  cursor=$(zf_journal_cursor "$unit")
  zf_unit_show "$unit" MainPID || true
  main_pid=$ZF_PROP_MainPID
  if ! err=$(systemctl kill -s "$signal" --kill-whom=main "$unit" 2>&1); then
    if zf_main_exited "$unit" "$main_pid"; then
      ZF_DRAIN_RESULT=exited ZF_DRAIN_ELAPSED=$(zf_elapsed "$start")
      return 0
    fi
    ZF_DRAIN_RESULT=failed ZF_UNIT_DETAIL="systemctl kill -s ${signal} ${unit} failed: ${err//$'\n'/ }"
    ZF_DRAIN_ELAPSED=$(zf_elapsed "$start")
    return 1
  fi
  zf_follow_drain "$unit" "$cursor" "$complete" "$main_pid" "$end"
  ZF_DRAIN_ELAPSED=$(zf_elapsed "$start")
}
