#!/usr/bin/env bash
# Summary: the worker's journal and its drain (drain.sh, decommission.sh, and verify.sh before a revert); sourced
#          after lib.sh; sources lib-units.sh itself. canary-gate.sh sources it for zf_journal_cursor alone.
# Exit codes: none of its own.

# shellcheck source=host-scripts/lib-units.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-units.sh"

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

# zf_drain_state: what a drain waits on, for its progress lines: the runs in flight, else the worker's last line.
zf_drain_state() {
  if [[ "$ZF_DRAIN_IN_FLIGHT" == 1 ]]; then printf '1 run in flight'
  elif [[ "$ZF_DRAIN_IN_FLIGHT" != unknown ]]; then printf '%s runs in flight' "$ZF_DRAIN_IN_FLIGHT"
  else printf 'last line: %s' "${ZF_DRAIN_LAST:-none}"; fi
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
  exec {fd}< <(zf_progress_close; exec timeout "$(zf_timeout_s $(( end + 1000 )))" journalctl -q --no-pager -u "$unit" "${from[@]}" -f -o cat 2>/dev/null)
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
    zf_progress_tick
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
  zf_progress_begin "$deadline_s" "the drain to complete" zf_drain_state
  zf_follow_drain "$unit" "$cursor" "$complete" "$main_pid" "$end"
  zf_progress_end
  ZF_DRAIN_ELAPSED=$(zf_elapsed "$start")
}
