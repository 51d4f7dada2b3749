#!/usr/bin/env bash
# Summary: installs the step-script bundle read on stdin as $ZF_ROOT/deploy/bundles/<ZF_BUNDLE>/ and points
#          $ZF_ROOT/deploy/scripts at it atomically; keeps the bundle it replaces and drops older ones. The only
#          script sent as command text (nothing is installed before it), so it is self-contained and short.
# Inputs:  ZF_HOST, ZF_BUNDLE (sha256 of the stdin text), ZF_ROOT (default /opt/zombie); stdin: one line per
#          file `name<TAB>base64(content)`.
# Output:  step=install-bundle host=<host> status=ok|skip|fail bundle=<12 hex> [files=<n>] [reason="…"]
# Exit codes: 0 ok/skip, 1 a file could not be written, 2 bad input (hash mismatch, file name, base64)
set -euo pipefail
root=${ZF_ROOT:-/opt/zombie} host=${ZF_HOST:-unknown} want=${ZF_BUNDLE:-}
deploy="${root}/deploy" dir="${root}/deploy/bundles/${want}" tmp=""
say() { printf 'step=install-bundle host=%s status=%s bundle=%s %s\n' "$host" "$1" "${want:0:12}" "$2"; }
fail() { say fail "reason=\"$2\""; exit "$1"; }
trap 'if [[ -n "$tmp" ]]; then rm -rf -- "$tmp"; fi' EXIT
if [[ ! "$want" =~ ^[0-9a-f]{64}$ ]]; then fail 2 "ZF_BUNDLE must be a sha256 (got ${want:-nothing})"; fi
mkdir -p -- "${deploy}/bundles"
tmp=$(mktemp -d "${deploy}/bundles/.new.XXXXXX")
cat >"${tmp}/.stdin"
if [[ "$(sha256sum <"${tmp}/.stdin")" != "${want}  -" ]]; then fail 2 "the bundle on stdin is not ${want:0:12}"; fi
if [[ -d "$dir" && "$(readlink -- "${deploy}/scripts" || true)" == "bundles/${want}" ]]; then say skip ""; exit 0; fi
n=0
while IFS=$'\t' read -r name b64; do
  if [[ ! "$name" =~ ^[A-Za-z0-9_][A-Za-z0-9_-]*\.sh$ ]]; then fail 2 "bad bundle file name ${name:0:40}"; fi
  base64 -d <<<"$b64" >"${tmp}/${name}" 2>/dev/null || fail 2 "bundle file ${name} is not valid base64"
  n=$((n + 1))
done <"${tmp}/.stdin"
rm -f -- "${tmp}/.stdin"
chmod 755 -- "$tmp" "$tmp"/*.sh || fail 1 "could not set modes in ${tmp}"
old=$(readlink -- "${deploy}/scripts" || true)
rm -rf -- "$dir"
mv -T -- "$tmp" "$dir" || fail 1 "could not write ${dir}"
tmp=""
if ! { ln -sfn -- "bundles/${want}" "${deploy}/.scripts.tmp" && mv -f -T -- "${deploy}/.scripts.tmp" "${deploy}/scripts"; }; then
  fail 1 "could not switch ${deploy}/scripts"
fi
for other in "${deploy}"/bundles/*; do
  if [[ "$other" != "$dir" && "bundles/${other##*/}" != "$old" ]]; then rm -rf -- "$other"; fi
done
say ok "files=${n}"
