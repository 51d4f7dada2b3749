#!/usr/bin/env bash
# Summary: prepares a worker host: $ZF_ROOT, $ZF_ROOT/releases and $ZF_ROOT/deploy owned by ZF_OWNER (mode 755),
#          the missing ones of ZF_PACKAGES installed with apt-get (dpkg-query first, so a host that has them all
#          never touches apt: idempotent and offline-safe), and the deploy bundle from stdin written into
#          $ZF_ROOT/deploy/ (mode 755), each file atomically and only when it changed.
# Inputs:  ZF_HOST, ZF_ROOT, ZF_OWNER (default root), ZF_PACKAGES (space-separated, may be empty),
#          ZF_STEP_TIMEOUT (s, bounds apt-get; default 600);
#          stdin: the bundle, one line per file `name<TAB>base64(content)` (may be empty).
# Output:  step=layout host=<host> status=ok|skip installed=<n> files_written=<n> files=<n>
# Exit codes: 0 ok/skip, 1 apt-get failed or a file could not be written, 2 bad input (owner, package or file
#          name, base64), 3 apt-get ran past ZF_STEP_TIMEOUT
set -euo pipefail
if ! declare -F zf_status >/dev/null; then
  # shellcheck source=components/scripts/lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

readonly STEP=layout
ZF_OWNER=${ZF_OWNER:-root}
ZF_PACKAGES=${ZF_PACKAGES:-}
ZF_STEP_TIMEOUT=${ZF_STEP_TIMEOUT:-600}
BUNDLE_NAMES=()  # file names from the bundle, in order
BUNDLE_TEMPS=()  # their decoded contents in $ZF_ROOT/deploy, removed on exit unless renamed into place
INSTALLED=0
WRITTEN=0

cleanup() {
  if ((${#BUNDLE_TEMPS[@]})); then rm -f -- "${BUNDLE_TEMPS[@]}"; fi
}

check_inputs() {
  if ! id -u -- "$ZF_OWNER" >/dev/null 2>&1; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_OWNER ${ZF_OWNER} is not a user on this host"
  fi
  if [[ ! "$ZF_STEP_TIMEOUT" =~ ^[1-9][0-9]*$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_STEP_TIMEOUT must be whole seconds (got ${ZF_STEP_TIMEOUT})"
  fi
}

make_dirs() {
  local dir
  for dir in "$ZF_ROOT" "${ZF_ROOT}/releases" "${ZF_ROOT}/deploy"; do
    mkdir -p -- "$dir"
    chown -- "${ZF_OWNER}:" "$dir"
    chmod 755 -- "$dir"
  done
}

# missing_packages PKG...: prints the ones dpkg does not list as installed.
missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' -- "$pkg" 2>/dev/null || true)
    if [[ "$status" != installed ]]; then printf '%s\n' "$pkg"; fi
  done
}

# apt_install PKG...: installs PKGs; refreshes the package lists once when the first attempt fails (a fresh
# host's lists may be missing or stale). Bounded by ZF_STEP_TIMEOUT per apt-get run.
apt_install() {
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  timeout "$ZF_STEP_TIMEOUT" apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=60 -- "$@" \
    || rc=$?
  if ((rc != 0 && rc != 124)); then
    echo "apt-get install failed (exit ${rc}); refreshing package lists and trying once more"
    rc=0
    timeout "$ZF_STEP_TIMEOUT" apt-get update -q -o DPkg::Lock::Timeout=60 || rc=$?
    if ((rc == 0)); then
      timeout "$ZF_STEP_TIMEOUT" apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=60 -- "$@" \
        || rc=$?
    fi
  fi
  if ((rc == 124)); then
    zf_fail "$STEP" "$ZF_EXIT_TIMEOUT" reason="apt-get did not finish within ${ZF_STEP_TIMEOUT}s" packages="$*"
  elif ((rc != 0)); then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="apt-get install failed (exit ${rc})" packages="$*"
  fi
}

install_packages() {
  local pkg wanted=() missing=()
  read -r -a wanted <<<"$ZF_PACKAGES"  # split on blanks, no globbing
  for pkg in "${wanted[@]}"; do
    # Names as Debian policy allows them; anything else could be read by apt-get as an option.
    if [[ ! "$pkg" =~ ^[a-z0-9][a-z0-9+.-]+$ ]]; then
      zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="bad package name ${pkg}"
    fi
  done
  mapfile -t missing < <(missing_packages "${wanted[@]}")
  if ((${#missing[@]} == 0)); then return 0; fi
  echo "installing ${missing[*]}"
  apt_install "${missing[@]}"
  INSTALLED=${#missing[@]}
}

# read_bundle: decodes every stdin line into a temp file in $ZF_ROOT/deploy; validates all before any is placed.
read_bundle() {
  local name b64 tmp
  if [[ -t 0 ]]; then return 0; fi
  while IFS=$'\t' read -r name b64 || [[ -n "$name" ]]; do
    if [[ -z "$name" ]]; then continue; fi
    if [[ "$name" == */* || "$name" == *..* || ! "$name" =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]]; then
      zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="bad bundle file name ${name}"
    fi
    tmp=$(mktemp "${ZF_ROOT}/deploy/.${name}.XXXXXX")
    BUNDLE_TEMPS+=("$tmp")
    if ! base64 -d <<<"$b64" >"$tmp" 2>/dev/null; then
      zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="bundle file ${name} is not valid base64"
    fi
    BUNDLE_NAMES+=("$name")
  done
}

# place_bundle: moves each decoded file over its target unless the target already holds that content.
place_bundle() {
  local i tmp target
  for i in "${!BUNDLE_NAMES[@]}"; do
    tmp=${BUNDLE_TEMPS[$i]}
    target="${ZF_ROOT}/deploy/${BUNDLE_NAMES[$i]}"
    chown -- "${ZF_OWNER}:" "$tmp"
    chmod 755 -- "$tmp"
    if [[ -f "$target" && ! -L "$target" ]] && cmp -s -- "$tmp" "$target" \
      && [[ "$(stat -c '%a %U' -- "$target")" == "755 ${ZF_OWNER}" ]]; then
      continue
    fi
    if ! mv -f -T -- "$tmp" "$target"; then
      zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="could not write ${target}"
    fi
    WRITTEN=$((WRITTEN + 1))
  done
}

main() {
  check_inputs
  trap cleanup EXIT
  # A signal must end the script through exit, so the EXIT trap still removes the temp files.
  trap 'exit 143' TERM HUP INT
  make_dirs
  install_packages
  read_bundle
  place_bundle
  local status=skip
  if ((INSTALLED + WRITTEN > 0)); then status=ok; fi
  zf_status "$STEP" "$status" installed="$INSTALLED" files_written="$WRITTEN" files="${#BUNDLE_NAMES[@]}"
}

main "$@"
