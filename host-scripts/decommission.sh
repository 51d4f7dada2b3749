#!/usr/bin/env bash
# Summary: takes a worker host out of the fleet before its server or tailnet device is deleted: drains the worker
#          (drain.sh's contract, through the same lib.sh functions), stops and disables both units, and logs the
#          host out of the tailnet when ZF_TAILSCALE=true and tailscale is installed. Idempotent: on a host with
#          nothing left to do it is a skip.
# Inputs:  ZF_HOST, the drain inputs as in drain.sh (ZF_DRAIN_SIGNAL, ZF_DRAIN_COMPLETE_LOG, ZF_DRAIN_DEADLINE,
#          ZF_ON_DRAIN_DEADLINE), ZF_STEP_TIMEOUT (s), ZF_TAILSCALE (true | false), ZF_LOGOUT_DELAY (s; 0: log out
#          before returning; the program passes a delay because it reaches the host over the tailnet, and logging
#          out under its own SSH session would cut it); all required (host/steps.ts); the host layout from lib.sh.
# Output:  step=decommission host=<h> status=ok actions="drained stopped:<unit> disabled:<unit> tailscale-logout" drain=…
#          step=decommission host=<h> status=skip reason="already decommissioned"
#          step=decommission host=<h> status=fail reason="…" (drain fields as in drain.sh)
# Exit codes: 0 ok/skip, 1 a stop, disable or logout failed, 2 bad input, 3 deadline passed (drain or stop).
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-drain.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-drain.sh"

readonly STEP=decommission
ACTIONS=()
ZF_PROP_UnitFileState='' # set by zf_unit_show

check_inputs() {
  zf_require "$STEP" ZF_DRAIN_SIGNAL ZF_DRAIN_COMPLETE_LOG ZF_DRAIN_DEADLINE ZF_ON_DRAIN_DEADLINE ZF_STEP_TIMEOUT \
    ZF_TAILSCALE ZF_LOGOUT_DELAY
  zf_require_seconds "$STEP" ZF_DRAIN_DEADLINE ZF_STEP_TIMEOUT ZF_LOGOUT_DELAY
  zf_require_one_of "$STEP" ZF_ON_DRAIN_DEADLINE fail proceed
  zf_require_one_of "$STEP" ZF_TAILSCALE true false
}

drain() {
  local rc=0
  zf_drain_worker "$ZF_DRAIN_SIGNAL" "$ZF_DRAIN_COMPLETE_LOG" "$ZF_DRAIN_DEADLINE" "$ZF_STEP_TIMEOUT" || rc=$?
  zf_drain_fields
  case "$ZF_DRAIN_RESULT" in
    not-running) ;;
    stopped) ACTIONS+=("stopped:${ZF_WORKER_UNIT}") ;;
    complete | exited) ACTIONS+=(drained) ;;
    # The host is leaving anyway: its cut runs stay pending and XAUTOCLAIM hands them to other workers.
    died) ACTIONS+=(worker-died-on-drain-signal) ;;
    deadline)
      if [[ "$ZF_ON_DRAIN_DEADLINE" != proceed ]]; then
        zf_fail "$STEP" "$ZF_EXIT_TIMEOUT" \
          reason="drain on ${ZF_HOST} did not complete within ${ZF_DRAIN_DEADLINE}s (${ZF_DRAIN_IN_FLIGHT} runs in flight)" \
          "${ZF_DRAIN_FIELDS[@]}"
      fi
      ACTIONS+=(drain-deadline-passed)
      ;;
    *) zf_fail_unit "$STEP" "$rc" "${ZF_DRAIN_FIELDS[@]}" ;;
  esac
}

# stop_and_disable UNIT: stops it unless inactive, disables it when enabled; a unit that is not installed is done.
stop_and_disable() {
  local unit=$1 rc=0 err
  if ! zf_unit_inactive "$unit"; then
    zf_stop_unit "$unit" "$ZF_STEP_TIMEOUT" || rc=$?
    if (( rc != 0 )); then zf_fail_unit "$STEP" "$rc" actions="${ACTIONS[*]}"; fi
    ACTIONS+=("stopped:${unit}")
  fi
  zf_unit_show "$unit" UnitFileState || true
  if [[ "$ZF_PROP_UnitFileState" == enabled* ]]; then
    if ! err=$(timeout --kill-after=2 "$ZF_STEP_TIMEOUT" systemctl disable "$unit" 2>&1); then
      zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="systemctl disable ${unit} failed: ${err//$'\n'/ }" actions="${ACTIONS[*]}"
    fi
    ACTIONS+=("disabled:${unit}")
  fi
}

# tailnet_logout: `tailscale logout` while the host is still logged in (`tailscale status` exits 0).
tailnet_logout() {
  local err
  if [[ "$ZF_TAILSCALE" != true ]] || ! command -v tailscale >/dev/null; then return 0; fi
  if ! timeout --kill-after=2 "$ZF_STEP_TIMEOUT" tailscale status >/dev/null 2>&1; then return 0; fi
  if (( $(zf_ms "$ZF_LOGOUT_DELAY") > 0 )); then
    # Detached, so this step reports and its SSH session closes before the tailnet goes away.
    (zf_progress_close; exec setsid nohup bash -c "sleep ${ZF_LOGOUT_DELAY}; tailscale logout") </dev/null >/dev/null 2>&1 &
    ACTIONS+=("tailscale-logout-in-${ZF_LOGOUT_DELAY}s")
    return 0
  fi
  if ! err=$(timeout --kill-after=2 "$ZF_STEP_TIMEOUT" tailscale logout 2>&1); then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="tailscale logout failed: ${err//$'\n'/ }" actions="${ACTIONS[*]}"
  fi
  ACTIONS+=(tailscale-logout)
}

main() {
  local start
  start=$(zf_now_ms)
  check_inputs
  drain
  stop_and_disable "$ZF_WORKER_UNIT"
  stop_and_disable "$ZF_EXECUTOR_UNIT"
  tailnet_logout
  if (( ${#ACTIONS[@]} == 0 )); then
    zf_status "$STEP" skip reason="already decommissioned"
    return 0
  fi
  zf_status "$STEP" ok actions="${ACTIONS[*]}" "${ZF_DRAIN_FIELDS[@]}" total="$(zf_elapsed "$start")"
}

main "$@"
