#!/usr/bin/env bash
# Summary: the core every step script sources: the host layout, exit codes, the status line, input checks and
#          the clock. Units, releases and the drain are in lib-units.sh, lib-release.sh and lib-drain.sh, each
#          sourced only by the scripts that use it (what a script sources is what re-runs it: script-command.ts).
# Inputs:  ZF_HOST (required); the host layout below (host/steps.ts HOST_LAYOUT, which a test holds these to; the
#          tests point it at a temp root); ZF_TRACE (see README.md beside this file)
# Exit codes: none of its own; zf_fail exits with the code it is given.

ZF_ROOT=${ZF_ROOT:-/opt/zombie}
ZF_WORKER_UNIT=${ZF_WORKER_UNIT:-zombied-worker}
ZF_EXECUTOR_UNIT=${ZF_EXECUTOR_UNIT:-zombied-executor}
ZF_BIN_DIR=${ZF_BIN_DIR:-/usr/local/bin}
ZF_UNIT_DIR=${ZF_UNIT_DIR:-/etc/systemd/system}
ZF_ENV_FILE=${ZF_ENV_FILE:-/etc/default/zombied-worker}
ZF_EXECUTOR_SOCKET=${ZF_EXECUTOR_SOCKET:-/run/zombie/executor.sock}
if [[ "${ZF_TRACE:-}" == 1 ]]; then set -x; fi

# Exit codes: 1 failed check, 2 bad input, 3 deadline passed. Used by the scripts that source this.
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

# Every step names its host in its status line: the program always passes it (host/steps.ts).
if [[ -z "${ZF_HOST:-}" ]]; then ZF_HOST=""; zf_fail "$(basename "${BASH_SOURCE[1]:-step}" .sh)" "$ZF_EXIT_USAGE" reason="missing input ZF_HOST"; fi

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

# ---- Durations are seconds ("5", "1.5"); deadlines are absolute milliseconds from zf_now_ms.

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

# zf_wait_ms DEADLINE_MS CMD...: runs CMD every 0.1 s until it succeeds; 1 when DEADLINE_MS passes first. Prints
# the progress of the wait zf_progress_begin started, if any.
zf_wait_ms() {
  local end=$1
  shift
  until "$@"; do
    if (( $(zf_now_ms) >= end )); then return 1; fi
    zf_progress_tick
    sleep 0.1
  done
}

# ---- Progress while a step waits: the command provider streams every output line of a running command to
# `pulumi up` as it comes (pulumi-command v1.2.1 provider/pkg/provider/util/util.go LogOutput, an InfoStatus per
# line), so a long wait says what it waits for instead of being silent until its status line.

# The one interval: a waiting step prints a line at least this often (seconds).
readonly ZF_PROGRESS_EVERY_S=15
ZF_PROGRESS_WHAT='' ZF_PROGRESS_STATE='' ZF_PROGRESS_START=0 ZF_PROGRESS_BUDGET=0 ZF_PROGRESS_NEXT=0

# zf_progress_begin BUDGET_S WHAT [STATE_FN]: a wait of at most BUDGET_S seconds for WHAT begins (it replaces any
# other). STATE_FN, a function, prints the state waited on when a line is due ("2 runs in flight").
zf_progress_begin() {
  ZF_PROGRESS_START=$(zf_now_ms)
  ZF_PROGRESS_BUDGET=${1%%.*} ZF_PROGRESS_WHAT=$2 ZF_PROGRESS_STATE=${3:-}
  ZF_PROGRESS_NEXT=$(( ZF_PROGRESS_START + ZF_PROGRESS_EVERY_S * 1000 ))
}

zf_progress_end() { ZF_PROGRESS_WHAT=''; }

# zf_progress_close: closes ZF_PROGRESS_FD in a process that may outlive the step (a journal follower, a detached
# logout): the SSH session ends only once every holder of run.sh's stdout closed it.
zf_progress_close() {
  if [[ "${ZF_PROGRESS_FD:-}" =~ ^[0-9]+$ ]]; then exec {ZF_PROGRESS_FD}>&-; fi
  ZF_PROGRESS_FD=''
}

# zf_progress_tick: once ZF_PROGRESS_EVERY_S passed since the wait began or its last line, prints
# `<step> host=<h> waiting for <what> (<state>), <elapsed>s/<budget>s`: on stderr (the step's log, for tail -f) and
# on ZF_PROGRESS_FD, which run.sh opens on its own stdout, so the line reaches Pulumi while the step runs. STEP is
# the step's name, which every step script sets.
zf_progress_tick() {
  local now state='' line
  if [[ -z "$ZF_PROGRESS_WHAT" ]]; then return 0; fi
  now=$(zf_now_ms)
  if (( now < ZF_PROGRESS_NEXT )); then return 0; fi
  ZF_PROGRESS_NEXT=$(( now + ZF_PROGRESS_EVERY_S * 1000 ))
  if [[ -n "$ZF_PROGRESS_STATE" ]]; then state=$("$ZF_PROGRESS_STATE" 2>/dev/null || true); fi
  line="${STEP:-step} host=${ZF_HOST} waiting for ${ZF_PROGRESS_WHAT}${state:+ (${state})}, $(( (now - ZF_PROGRESS_START) / 1000 ))s/${ZF_PROGRESS_BUDGET}s"
  printf '%s\n' "$line" >&2
  if [[ "${ZF_PROGRESS_FD:-}" =~ ^[0-9]+$ ]]; then printf '%s\n' "$line" >&"$ZF_PROGRESS_FD" || true; fi
}

# zf_timeout_s DEADLINE_MS: seconds left until DEADLINE_MS, for timeout(1) ("0.1" at least).
zf_timeout_s() {
  local left=$(( $1 - $(zf_now_ms) ))
  if (( left < 100 )); then left=100; fi
  printf '%d.%03d' $(( left / 1000 )) $(( left % 1000 ))
}
