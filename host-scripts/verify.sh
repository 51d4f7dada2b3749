#!/usr/bin/env bash
# Summary: checks the worker on the release `current` points at: runs ZF_VERIFY_COMMAND (bounded), then requires the
#          worker to stay active, with NRestarts, ActiveEnterTimestamp and MainPID unchanged, for ZF_MIN_HEALTHY
#          seconds. On failure with ZF_AUTO_REVERT=true it switches `current` back to the release `previous` points at,
#          restarts executor and worker on it, checks the verify command passes there, and still fails the step.
# Inputs:  ZF_HOST, ZF_VERIFY_COMMAND (shell text, e.g. "zombied doctor worker"), ZF_MIN_HEALTHY (s),
#          ZF_AUTO_REVERT (true | false), ZF_STEP_TIMEOUT (s; bounds the command and each restart), ZF_STOP_TIMEOUT
#          (s; bounds the revert's stop of a worker that may be draining), ZF_DRAIN_DEADLINE (s), ZF_DRAIN_SIGNAL,
#          ZF_DRAIN_COMPLETE_LOG (drain the unhealthy worker before the revert restarts it), ZF_VERSION: the release
#          this rollout deployed. When `current` is another one (an earlier verify reverted it), the step fails
#          without checking: passing would let a resumed `pulumi up` carry a release that failed here on to the
#          next wave. All required (host/steps.ts); the host layout from lib.sh.
# Output:  step=verify host=<h> status=ok version=<v> healthy_for=<s> restarts=<n>
#          step=verify host=<h> status=fail version=<v> reason="…"                       (no revert)
#          step=verify host=<h> status=fail version=<v> reverted_to=<v> revert_healthy=true|false reason="…"
#          step=verify host=<h> status=fail version=<v> expected=<v> reason="…"          (not the deployed release)
# Exit codes: 0 ok, 1 unhealthy (reverted or not), 2 bad input.
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-drain.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-drain.sh"
# shellcheck source=host-scripts/lib-release.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-release.sh"

readonly STEP=verify
REASON='' SNAPSHOT=''
ZF_PROP_NRestarts='' ZF_PROP_ActiveEnterTimestamp='' # set by zf_unit_show

check_inputs() {
  zf_require "$STEP" ZF_DRAIN_SIGNAL ZF_DRAIN_COMPLETE_LOG ZF_DRAIN_DEADLINE ZF_VERSION \
    ZF_VERIFY_COMMAND ZF_MIN_HEALTHY ZF_AUTO_REVERT ZF_STEP_TIMEOUT ZF_STOP_TIMEOUT
  zf_require_seconds "$STEP" ZF_DRAIN_DEADLINE ZF_MIN_HEALTHY ZF_STEP_TIMEOUT ZF_STOP_TIMEOUT
  zf_require_one_of "$STEP" ZF_AUTO_REVERT true false
}

# run_verify_command: ZF_VERIFY_COMMAND under ZF_STEP_TIMEOUT; on failure REASON names the exit and its last line.
run_verify_command() {
  local out rc=0 last
  out=$(timeout --kill-after=2 "$ZF_STEP_TIMEOUT" bash -c "$ZF_VERIFY_COMMAND" 2>&1) || rc=$?
  if (( rc == 0 )); then return 0; fi
  printf '%s\n' "$out" | tail -n 20 >&2
  if (( rc == 124 || rc == 137 )); then
    REASON="verify command timed out after ${ZF_STEP_TIMEOUT}s"
  else
    last=$(printf '%s\n' "$out" | grep -F '[FAIL]' | tail -n 1 || true)
    [[ -n "$last" ]] || last=$(printf '%s\n' "$out" | tail -n 1)
    REASON="verify command failed (exit ${rc}): ${last//\"/\'}"
  fi
  return 1
}

# snapshot: SNAPSHOT is the worker's identity as systemd sees it (a restart of any kind changes it); the
# ZF_PROP_* it reads stay set for the caller.
snapshot() {
  zf_unit_show "$ZF_WORKER_UNIT" ActiveState SubState NRestarts ActiveEnterTimestamp MainPID || true
  SNAPSHOT="${ZF_PROP_NRestarts}|${ZF_PROP_ActiveEnterTimestamp}|${ZF_PROP_MainPID}"
}

# stays_healthy BEFORE SECONDS: the worker stays active with the same identity for SECONDS.
stays_healthy() {
  local before=$1 start end rc=0
  zf_progress_begin "$2" "the min healthy time: ${ZF_WORKER_UNIT} active with no restart" healthy_state
  stays_healthy_waiting "$before" "$2" || rc=$?
  zf_progress_end
  return "$rc"
}

# healthy_state: the worker as the last snapshot saw it, for progress lines.
healthy_state() { printf '%s/%s, restarts %s' "$ZF_PROP_ActiveState" "$ZF_PROP_SubState" "$ZF_PROP_NRestarts"; }

stays_healthy_waiting() {
  local before=$1 start end
  start=$(zf_now_ms)
  end=$(( start + $(zf_ms "$2") ))
  while :; do
    snapshot
    if [[ "$ZF_PROP_ActiveState" != active ]]; then
      REASON="worker left the active state (${ZF_PROP_ActiveState}/${ZF_PROP_SubState}) after $(zf_elapsed "$start")"
      return 1
    fi
    if [[ "$SNAPSHOT" != "$before" ]]; then
      REASON="worker restarted during the min healthy time after $(zf_elapsed "$start") (NRestarts ${before%%|*} -> ${SNAPSHOT%%|*}, MainPID ${before##*|} -> ${SNAPSHOT##*|})"
      return 1
    fi
    if (( $(zf_now_ms) >= end )); then return 0; fi
    zf_progress_tick
    sleep 0.2
  done
}

check_health() {
  local before
  snapshot
  before=$SNAPSHOT
  if [[ "$ZF_PROP_ActiveState" != active ]]; then
    REASON="worker is ${ZF_PROP_ActiveState}/${ZF_PROP_SubState}, not active"
    return 1
  fi
  run_verify_command && stays_healthy "$before" "$ZF_MIN_HEALTHY"
}

# revert BAD: current -> the release previous points at, executor and worker restarted on it, then the verify
# command. `previous` keeps pointing at that good release, so a bad release is never a revert target.
revert() {
  local bad=$1 good rc=0 healthy=false
  good=$(zf_release_of "${ZF_ROOT}/previous")
  if [[ -z "$good" || "$good" == "$(zf_release_of "${ZF_ROOT}/current")" ]] || ! zf_switch_current "$good"; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" version="$bad" reverted_to=none reason="${REASON}; no previous release to revert to"
  fi
  good=$(zf_release_version "$good")
  printf 'verify: %s unhealthy (%s): reverting to %s\n' "$bad" "$REASON" "$good" >&2
  zf_drain_worker "$ZF_DRAIN_SIGNAL" "$ZF_DRAIN_COMPLETE_LOG" "$ZF_DRAIN_DEADLINE" "$ZF_STOP_TIMEOUT" || true
  zf_stop_unit "$ZF_WORKER_UNIT" "$ZF_STOP_TIMEOUT" &&
    zf_restart_executor "$ZF_STEP_TIMEOUT" &&
    zf_start_worker "$ZF_STEP_TIMEOUT" || rc=$?
  if (( rc != 0 )); then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" version="$bad" reverted_to="$good" revert_healthy=false \
      reason="${REASON}; after the revert: ${ZF_UNIT_DETAIL}"
  fi
  local first_reason=$REASON
  if run_verify_command; then healthy=true; else first_reason+="; after the revert: ${REASON}"; fi
  zf_fail "$STEP" "$ZF_EXIT_FAILED" version="$bad" reverted_to="$good" revert_healthy="$healthy" reason="$first_reason"
}

main() {
  local version
  check_inputs
  version=$(zf_release_version "$(zf_release_of "${ZF_ROOT}/current")")
  if [[ "${version:-}" != "$ZF_VERSION" ]]; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" version="${version:-unknown}" expected="$ZF_VERSION" \
      reason="the host runs ${version:-no release}, not ${ZF_VERSION}: an earlier verify of ${ZF_VERSION} failed and reverted it; fix the release in config, or re-deploy it with pulumi up --replace on this host's deploy step"
  fi
  if check_health; then
    zf_status "$STEP" ok version="${version:-unknown}" healthy_for="${ZF_MIN_HEALTHY}s" restarts="$ZF_PROP_NRestarts"
    return 0
  fi
  if [[ "$ZF_AUTO_REVERT" == true ]]; then revert "${version:-unknown}"; fi
  zf_fail "$STEP" "$ZF_EXIT_FAILED" version="${version:-unknown}" reason="$REASON"
}

main "$@"
