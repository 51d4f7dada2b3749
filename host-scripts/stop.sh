#!/usr/bin/env bash
# Summary: stops the (drained) worker with `systemctl stop`, bounded by ZF_STEP_TIMEOUT, and confirms it is inactive.
#          A unit between crash-loop attempts ("activating") is stopped too; an inactive or failed one is a skip.
# Inputs:  ZF_HOST, ZF_STEP_TIMEOUT (s); both required (host/steps.ts); the host layout from lib.sh.
# Output:  step=stop host=<h> status=ok|skip was=<ActiveState/SubState> [elapsed=<s>]
#          step=stop host=<h> status=fail reason="…"
# Exit codes: 0 ok/skip, 1 the stop failed or the unit is still not inactive, 2 bad input, 3 deadline passed.
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-units.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-units.sh"

readonly STEP=stop

main() {
  local was start rc=0
  zf_require "$STEP" ZF_STEP_TIMEOUT
  zf_require_seconds "$STEP" ZF_STEP_TIMEOUT
  was=$(zf_unit_describe "$ZF_WORKER_UNIT")
  if zf_unit_inactive "$ZF_WORKER_UNIT"; then
    zf_status "$STEP" skip was="$was"
    return 0
  fi
  start=$(zf_now_ms)
  zf_stop_unit "$ZF_WORKER_UNIT" "$ZF_STEP_TIMEOUT" || rc=$?
  if (( rc != 0 )); then zf_fail_unit "$STEP" "$rc" was="$was"; fi
  zf_status "$STEP" ok was="$was" elapsed="$(zf_elapsed "$start")"
}

main "$@"
