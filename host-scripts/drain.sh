#!/usr/bin/env bash
# Summary: drains the worker before it is stopped: skip when it is not running (a crash-looping unit is stopped
#          first), else take a journal cursor, send ZF_DRAIN_SIGNAL to the main process and follow the journal
#          until ZF_DRAIN_COMPLETE_LOG appears after the cursor, the main process exits, or the deadline passes.
# Inputs:  ZF_HOST, ZF_DRAIN_SIGNAL, ZF_DRAIN_COMPLETE_LOG, ZF_DRAIN_DEADLINE (s), ZF_ON_DRAIN_DEADLINE
#          (fail | proceed), ZF_STEP_TIMEOUT (s: bound for stopping a crash-looping unit); all required
#          (host/steps.ts); the host layout from lib.sh.
# Output:  step=drain host=<h> status=ok drain=complete|exited elapsed=<s>
#          step=drain host=<h> status=fail drain=died exit="code=<c> status=<s>" (killed by the signal: exit 1)
#          step=drain host=<h> status=ok drain=deadline deadline=passed in_flight=<n> …   (ZF_ON_DRAIN_DEADLINE=proceed)
#          step=drain host=<h> status=skip drain=not-running|stopped state=<ActiveState/SubState>
#          step=drain host=<h> status=fail reason="…" state=… in_flight=<n> last="<worker's last line>"
# Exit codes: 0 ok/skip, 1 the signal or a stop was refused, 2 bad input, 3 deadline passed.
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-drain.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-drain.sh"

readonly STEP=drain

check_inputs() {
  zf_require "$STEP" ZF_DRAIN_SIGNAL ZF_DRAIN_COMPLETE_LOG ZF_DRAIN_DEADLINE ZF_ON_DRAIN_DEADLINE ZF_STEP_TIMEOUT
  zf_require_seconds "$STEP" ZF_DRAIN_DEADLINE ZF_STEP_TIMEOUT
  zf_require_one_of "$STEP" ZF_ON_DRAIN_DEADLINE fail proceed
  if [[ ! "$ZF_DRAIN_SIGNAL" =~ ^(SIG)?[A-Z][A-Z0-9+-]*$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_DRAIN_SIGNAL must be a signal name like SIGUSR1 (got ${ZF_DRAIN_SIGNAL})"
  fi
}

main() {
  local rc=0
  check_inputs
  zf_drain_worker "$ZF_DRAIN_SIGNAL" "$ZF_DRAIN_COMPLETE_LOG" "$ZF_DRAIN_DEADLINE" "$ZF_STEP_TIMEOUT" || rc=$?
  zf_drain_fields
  case "$ZF_DRAIN_RESULT" in
    not-running) zf_status "$STEP" skip "${ZF_DRAIN_FIELDS[@]}" ;;
    stopped) zf_status "$STEP" skip "${ZF_DRAIN_FIELDS[@]}" reason="not running (crash-looping): stopped it" ;;
    complete | exited) zf_status "$STEP" ok "${ZF_DRAIN_FIELDS[@]}" ;;
    died)
      zf_fail "$STEP" "$ZF_EXIT_FAILED" \
        reason="the worker on ${ZF_HOST} died of the drain signal instead of draining: its in-flight runs were cut; set drain.signal to the signal this build drains on" \
        "${ZF_DRAIN_FIELDS[@]}"
      ;;
    deadline)
      if [[ "$ZF_ON_DRAIN_DEADLINE" == proceed ]]; then
        zf_status "$STEP" ok deadline=passed "${ZF_DRAIN_FIELDS[@]}"
      else
        zf_fail "$STEP" "$ZF_EXIT_TIMEOUT" \
          reason="drain on ${ZF_HOST} did not complete within ${ZF_DRAIN_DEADLINE}s (${ZF_DRAIN_IN_FLIGHT} runs in flight)" \
          "${ZF_DRAIN_FIELDS[@]}"
      fi
      ;;
    *) zf_fail_unit "$STEP" "$rc" "${ZF_DRAIN_FIELDS[@]}" ;;
  esac
}

main "$@"
