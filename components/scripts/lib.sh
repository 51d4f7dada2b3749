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

# zf_now: seconds since the epoch (stand-ins may fake the clock through `date`).
zf_now() { date +%s; }

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
