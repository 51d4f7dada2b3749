#!/usr/bin/env bash
# Summary: starts the worker once the executor socket exists (restarts it when it is already running or between
#          crash-loop attempts) and waits, bounded by ZF_STEP_TIMEOUT, until it is active. Staying healthy is
#          verify.sh's job: `active` right after a start is not health (facts/zombied.md).
# Inputs:  ZF_HOST, ZF_STEP_TIMEOUT (s); both required (host/steps.ts); the host layout from lib.sh.
# Output:  step=start-worker host=<h> status=ok action=started|restarted elapsed=<s>
#          step=start-worker host=<h> status=fail reason="<state it gave up in>"
# Exit codes: 0 ok, 1 the start was refused, 2 bad input, 3 deadline passed (no socket, or not active).
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-units.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-units.sh"

readonly STEP=start-worker

main() {
  local start rc=0
  zf_require "$STEP" ZF_STEP_TIMEOUT
  zf_require_seconds "$STEP" ZF_STEP_TIMEOUT
  start=$(zf_now_ms)
  zf_start_worker "$ZF_STEP_TIMEOUT" || rc=$?
  if (( rc != 0 )); then zf_fail_unit "$STEP" "$rc"; fi
  zf_status "$STEP" ok action="$ZF_UNIT_ACTION" elapsed="$(zf_elapsed "$start")"
}

main "$@"
