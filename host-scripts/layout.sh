#!/usr/bin/env bash
# Summary: prepares a worker host: $ZF_ROOT, $ZF_ROOT/releases and $ZF_ROOT/deploy owned by ZF_OWNER (mode 755),
#          the missing ones of ZF_PACKAGES installed with apt-get (dpkg-query first, so a host that has them all
#          never touches apt: idempotent and offline-safe). The scripts in $ZF_ROOT/deploy/ are installed by
#          install-bundle.sh, which runs before every other step.
# Inputs:  ZF_HOST, ZF_OWNER, ZF_PACKAGES (space-separated), ZF_STEP_TIMEOUT (s, bounds each apt-get run); all
#          required (host/steps.ts); the host layout from lib.sh (ZF_ROOT).
# Output:  step=layout host=<host> status=ok|skip installed=<n>
# Exit codes: 0 ok/skip, 1 apt-get failed, 2 bad input (owner, package name), 3 apt-get ran past ZF_STEP_TIMEOUT
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly STEP=layout
INSTALLED=0

check_inputs() {
  zf_require "$STEP" ZF_OWNER ZF_PACKAGES ZF_STEP_TIMEOUT
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

main() {
  check_inputs
  make_dirs
  install_packages
  local status=skip
  if ((INSTALLED > 0)); then status=ok; fi
  zf_status "$STEP" "$status" installed="$INSTALLED"
}

main "$@"
