#!/usr/bin/env bash
# Summary: restarts the executor (so it runs the release `current` points at) and waits, bounded by
#          ZF_STEP_TIMEOUT, until it is active and its socket ($ZF_EXECUTOR_SOCKET) exists.
# Inputs:  ZF_HOST, ZF_STEP_TIMEOUT (s); both required (host/steps.ts); the host layout from lib.sh.
# Output:  step=restart-executor host=<h> status=ok socket=<path> elapsed=<s>
#          step=restart-executor host=<h> status=fail reason="<state it gave up in>"
# Exit codes: 0 ok, 1 the restart was refused, 2 bad input, 3 deadline passed (not active or no socket).
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-units.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-units.sh"

readonly STEP=restart-executor

main() {
  local start rc=0
  zf_require "$STEP" ZF_STEP_TIMEOUT
  zf_require_seconds "$STEP" ZF_STEP_TIMEOUT
  start=$(zf_now_ms)
  zf_restart_executor "$ZF_STEP_TIMEOUT" || rc=$?
  if (( rc != 0 )); then zf_fail_unit "$STEP" "$rc"; fi
  zf_status "$STEP" ok socket="$ZF_EXECUTOR_SOCKET" elapsed="$(zf_elapsed "$start")"
}

main "$@"
