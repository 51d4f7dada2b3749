#!/usr/bin/env bash
# Summary: runs one step script of the installed bundle with its output kept in a log, then prints the step's
#          status line first and the rest of the output after it. The command provider's error text is the
#          command followed by all output (pulumi-command v1.2.1 provider/pkg/provider/remote/commandOutputs.go:
#          `fmt.Errorf("%w: running %q:\n%s", err, cmd, stdouterrbuf.String())`), so an operator reads the
#          outcome before the detail. A waiting step's progress lines (lib.sh zf_progress_tick) are the exception:
#          they are written to this script's stdout as they come (ZF_PROGRESS_FD), so `pulumi up` shows them live,
#          and they are not repeated after the status line. The whole output is in the log (tail -f it).
# Inputs:  $1 the step (a script beside this file, without .sh); ZF_HOST, ZF_ROOT; the step's own ZF_* inputs;
#          stdin is passed on to the step.
# Output:  progress lines while the step waits, the step's status lines, then
#          `--- <step> output: <n> lines (last <k> shown), log <path> ---` and them.
# Exit codes: the step's; 2 when there is no such step.
set -euo pipefail
readonly STEP=${1:-} SHOWN=60
# A status line, or a progress line as lib.sh zf_progress_tick prints it.
readonly NOT_OUTPUT='^step=|^[a-z][a-z-]* host=[^ ]+ waiting for '
dir=$(dirname "${BASH_SOURCE[0]}")
if [[ ! "$STEP" =~ ^[a-z][a-z-]*$ || "$STEP" == run || ! -f "${dir}/${STEP}.sh" ]]; then
  printf 'step=%s host=%s status=fail reason="no step script %s.sh in %s"\n' "${STEP:-none}" "${ZF_HOST:-unknown}" "$STEP" "$dir"
  exit 2
fi
logs="${ZF_ROOT:-/opt/zombie}/log"
mkdir -p -- "$logs"
chmod 700 -- "$logs"
log="${logs}/${STEP}.log"
(umask 077 && : >"$log")  # root-only; the step itself keeps the caller's umask
rc=0
# fd 3 is this script's stdout, kept open for the step's progress lines; its stdout and stderr go to the log.
ZF_PROGRESS_FD=3 bash "${dir}/${STEP}.sh" 3>&1 >"$log" 2>&1 || rc=$?
if ! grep -E '^step=' -- "$log"; then
  printf 'step=%s host=%s status=fail reason="exited %s without a status line"\n' "$STEP" "${ZF_HOST:-unknown}" "$rc"
  if ((rc == 0)); then rc=1; fi
fi
# Status lines were printed above, progress lines while the step ran: the rest is the output.
lines=$(grep -cvE "$NOT_OUTPUT" -- "$log" || true)
if ((lines > 0)); then
  shown=$((lines < SHOWN ? lines : SHOWN))
  printf -- '--- %s output: %s lines (last %s shown), log %s ---\n' "$STEP" "$lines" "$shown" "$log"
  grep -vE "$NOT_OUTPUT" -- "$log" | tail -n "$SHOWN"
fi
exit "$rc"
