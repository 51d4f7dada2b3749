#!/usr/bin/env bash
# Summary: systemd unit helpers: state, bounded stop, executor restart, worker start. Sourced after lib.sh.
# Inputs:  ZF_WORKER_UNIT, ZF_EXECUTOR_UNIT, ZF_EXECUTOR_SOCKET (defaults in lib.sh)
# Exit codes: none of its own; zf_fail_unit exits with the code it is given.

# zf_unit_state UNIT: systemd's ActiveState (active, activating, inactive, failed, ...).
zf_unit_state() { systemctl show -p ActiveState --value "$1" 2>/dev/null || echo unknown; }

zf_unit_active() { [[ "$(zf_unit_state "$1")" == active ]]; }
zf_unit_inactive() { [[ "$(zf_unit_state "$1")" =~ ^(inactive|failed)$ ]]; }

# Results the helpers below leave for their callers: ZF_UNIT_DETAIL (what went wrong, the state given up in),
# ZF_UNIT_ACTION (started|restarted), ZF_PROP_<Prop> (zf_unit_show).
ZF_UNIT_DETAIL='' ZF_UNIT_ACTION=''
# shellcheck disable=SC2034  # ZF_PROP_MainPID is read by lib-drain.sh
ZF_PROP_ActiveState='' ZF_PROP_SubState='' ZF_PROP_MainPID=''

# zf_fail_unit STEP CODE key=value...: a fail status line whose reason is ZF_UNIT_DETAIL; exits with CODE.
zf_fail_unit() {
  local step=$1 code=$2
  shift 2
  zf_fail "$step" "$code" "$@" reason="$ZF_UNIT_DETAIL"
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


# zf_systemctl_bounded SECONDS ACTION UNIT: `systemctl ACTION UNIT`, given at most SECONDS. Returns 0, 1 (refused)
# or 3 (did not return in time); ZF_UNIT_DETAIL says which, with systemctl's own message when it refused.
zf_systemctl_bounded() {
  local seconds=$1 action=$2 unit=$3 rc=0 err
  err=$(timeout --kill-after=2 "$seconds" systemctl "$action" "$unit" 2>&1) || rc=$?
  if (( rc == 124 || rc == 137 )); then
    ZF_UNIT_DETAIL="systemctl ${action} ${unit} did not return within ${seconds}s"
    return 3
  fi
  if (( rc != 0 )); then
    ZF_UNIT_DETAIL="systemctl ${action} ${unit} failed (exit ${rc}): ${err//$'\n'/ }"
    return 1
  fi
}

# zf_stop_unit UNIT SECONDS: `systemctl stop`, bounded, then confirms the unit is inactive. Returns 0 stopped,
# 1 stop failed, 3 deadline passed; ZF_UNIT_DETAIL says what went wrong.
zf_stop_unit() {
  local unit=$1 seconds=$2 end rc=0
  end=$(( $(zf_now_ms) + $(zf_ms "$seconds") ))
  ZF_UNIT_DETAIL=''
  zf_systemctl_bounded "$seconds" stop "$unit" || rc=$?
  if (( rc == 3 )); then ZF_UNIT_DETAIL+=" (state $(zf_unit_describe "$unit"))"; fi
  if (( rc != 0 )); then return "$rc"; fi
  if ! zf_wait_ms $(( end > $(zf_now_ms) + 1000 ? end : $(zf_now_ms) + 1000 )) zf_unit_inactive "$unit"; then
    ZF_UNIT_DETAIL="${unit} is $(zf_unit_describe "$unit") after systemctl stop"
    return 1
  fi
}

# zf_restart_executor SECONDS: restarts the executor and waits until it is active and its socket exists.
# Returns 0, 1 (restart refused), 3 (deadline passed); ZF_UNIT_DETAIL says the state it gave up in.
zf_restart_executor() {
  local rc=0
  zf_progress_begin "$1" "${ZF_EXECUTOR_UNIT} active with its socket" zf_executor_state
  zf_restart_executor_waiting "$1" || rc=$?
  zf_progress_end
  return "$rc"
}

zf_restart_executor_waiting() {
  local seconds=$1 end
  end=$(( $(zf_now_ms) + $(zf_ms "$seconds") ))
  ZF_UNIT_DETAIL=''
  zf_systemctl_bounded "$seconds" restart "$ZF_EXECUTOR_UNIT" || return
  if ! zf_wait_ms "$end" zf_executor_ready; then
    ZF_UNIT_DETAIL="${ZF_EXECUTOR_UNIT} is $(zf_unit_describe "$ZF_EXECUTOR_UNIT"), socket ${ZF_EXECUTOR_SOCKET} $(
      [[ -e "$ZF_EXECUTOR_SOCKET" ]] && echo present || echo missing) after ${seconds}s"
    return 3
  fi
}

zf_executor_ready() { zf_unit_active "$ZF_EXECUTOR_UNIT" && [[ -e "$ZF_EXECUTOR_SOCKET" ]]; }

# zf_executor_state / zf_worker_state: the units' state, for progress lines.
zf_executor_state() {
  printf '%s, socket %s' "$(zf_unit_describe "$ZF_EXECUTOR_UNIT")" "$([[ -e "$ZF_EXECUTOR_SOCKET" ]] && echo present || echo missing)"
}
zf_worker_state() {
  printf 'socket %s, %s %s' "$([[ -e "$ZF_EXECUTOR_SOCKET" ]] && echo present || echo missing)" "$ZF_WORKER_UNIT" \
    "$(zf_unit_describe "$ZF_WORKER_UNIT")"
}

# zf_start_worker SECONDS: starts the worker (restarts it when it is running or between crash-loop attempts) once
# the executor socket exists, and waits until it is active. Returns 0, 1, 3 like zf_restart_executor;
# ZF_UNIT_ACTION is started|restarted.
zf_start_worker() {
  local rc=0
  zf_progress_begin "$1" "the executor socket, then ${ZF_WORKER_UNIT} active" zf_worker_state
  zf_start_worker_waiting "$1" || rc=$?
  zf_progress_end
  return "$rc"
}

zf_start_worker_waiting() {
  local seconds=$1 end state
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
  zf_systemctl_bounded "$(zf_timeout_s "$end")" "${ZF_UNIT_ACTION%ed}" "$ZF_WORKER_UNIT" || return
  if ! zf_wait_ms "$end" zf_unit_active "$ZF_WORKER_UNIT"; then
    ZF_UNIT_DETAIL="${ZF_WORKER_UNIT} is $(zf_unit_describe "$ZF_WORKER_UNIT") after ${seconds}s"
    return 3
  fi
}
