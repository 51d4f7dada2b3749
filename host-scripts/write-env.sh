#!/usr/bin/env bash
# Summary: writes the worker's .env (read from stdin) to $ZF_ROOT/.env and $ZF_ENV_FILE, each atomically
#          (a umask-077 temp file in the target's directory, then mv), mode 600, owned by root. The content is
#          never echoed, never put in a variable or an argument: it goes from stdin straight into a file.
# Inputs:  ZF_HOST, ZF_ROOT, ZF_ENV_FILE; stdin: the .env text (secret).
# Output:  step=write-env host=<host> status=ok|skip changed=true|false
# Exit codes: 0 ok/skip, 1 a file could not be written, 2 bad input (no stdin, empty .env)
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly STEP=write-env
ENV_STAGED=""   # the stdin copy, removed on exit
ENV_TEMPS=()    # temp files beside the targets, removed on exit unless renamed into place
CHANGED=false   # set by install_env when it replaced a file

cleanup() {
  local file
  for file in "$ENV_STAGED" "${ENV_TEMPS[@]}"; do
    if [[ -n "$file" ]]; then rm -f -- "$file"; fi
  done
}

# stage_stdin DIR: copies stdin into a root-only temp file in DIR and remembers it in ENV_STAGED.
stage_stdin() {
  local dir=$1
  if [[ -t 0 ]]; then zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="the .env text must arrive on stdin"; fi
  ENV_STAGED=$(umask 077 && mktemp "${dir}/.env.in.XXXXXX")
  cat >"$ENV_STAGED"
  if [[ ! -s "$ENV_STAGED" ]]; then zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="empty .env on stdin"; fi
}

# is_current TARGET: TARGET already holds the staged content, as a root-owned mode-600 regular file. Compared
# with cmp, so no digest of the secret is ever computed, traced (ZF_TRACE) or printed.
is_current() {
  local target=$1
  [[ -f "$target" && ! -L "$target" ]] || return 1
  [[ "$(stat -c '%a %u %g' -- "$target")" == "600 0 0" ]] || return 1
  cmp -s -- "$ENV_STAGED" "$target"
}

# install_env TARGET: replaces TARGET with the staged content unless it is current; sets CHANGED=true when it
# did. Every command is checked by hand: callers test it in an `if`, where bash ignores `set -e`.
install_env() {
  local target=$1 dir tmp
  if is_current "$target"; then return 0; fi
  dir=$(dirname -- "$target")
  mkdir -p -- "$dir" || return 1
  tmp=$(umask 077 && mktemp "${dir}/.$(basename -- "$target").XXXXXX") || return 1
  ENV_TEMPS+=("$tmp")
  cat <"$ENV_STAGED" >"$tmp" || return 1
  chown 0:0 -- "$tmp" && chmod 600 -- "$tmp" || return 1
  mv -f -T -- "$tmp" "$target" || return 1
  CHANGED=true
}

main() {
  local target
  trap cleanup EXIT
  # A signal must end the script through exit, so the EXIT trap still removes the temp files.
  trap 'exit 143' TERM HUP INT
  mkdir -p -- "$ZF_ROOT"
  stage_stdin "$ZF_ROOT"
  for target in "${ZF_ROOT}/.env" "$ZF_ENV_FILE"; do
    if ! install_env "$target"; then
      zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="could not write ${target}"
    fi
  done
  if [[ "$CHANGED" == true ]]; then
    zf_status "$STEP" ok changed=true
  else
    zf_status "$STEP" skip changed=false
  fi
}

main "$@"
