#!/usr/bin/env bash
# Summary: release links: $ZF_ROOT/current -> releases/<v>, $ZF_ROOT/previous -> the release before (README.md).
#          Sourced after lib.sh by deploy.sh and verify.sh.
# Exit codes: none of its own.

# zf_release_of LINK: the release directory name LINK points at, or nothing.
zf_release_of() {
  local target
  target=$(readlink -- "$1" 2>/dev/null) || return 0
  printf '%s' "${target##*/}"
}

# zf_release_version NAME: the version recorded in releases/NAME/VERSION (the binaries have no --version).
zf_release_version() {
  local file="${ZF_ROOT}/releases/$1/VERSION" version=
  if [[ -r "$file" ]]; then read -r version <"$file" || true; fi
  printf '%s' "${version:-$1}"
}

# zf_relink TARGET LINK: points LINK at TARGET atomically (temp link + rename over it).
zf_relink() {
  ln -sfn -- "$1" "$2.zf-tmp.$$"
  mv -f -T -- "$2.zf-tmp.$$" "$2"
}

# zf_switch_current NAME: current -> releases/NAME and $ZF_BIN_DIR/{zombied,zombied-executor} -> current/<binary>.
# Leaves `previous` alone: deploy.sh moves it forward, a revert keeps it. 1 when the release is not installed.
zf_switch_current() {
  local name=$1 binary
  if [[ ! -d "${ZF_ROOT}/releases/${name}" ]]; then return 1; fi
  zf_relink "releases/${name}" "${ZF_ROOT}/current"
  mkdir -p -- "$ZF_BIN_DIR"
  for binary in zombied zombied-executor; do zf_relink "${ZF_ROOT}/current/${binary}" "${ZF_BIN_DIR}/${binary}"; done
}
