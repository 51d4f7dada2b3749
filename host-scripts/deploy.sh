#!/usr/bin/env bash
# Summary: installs release ZF_VERSION and makes it current. Downloads both artifacts (bounded curl), checks
#          their sha256, unpacks them in a staging dir under $ZF_ROOT/releases and renames it to
#          releases/<version>/ (never a half-installed release); skips the download when that release is
#          already there with the same recorded checksums. Then switches `current` atomically, points
#          `previous` at the release that was current before, links the binaries into $ZF_BIN_DIR and prunes
#          old releases. Never runs the binaries: `zombied-executor --version` starts a second executor
#          (facts/zombied.md), so the version is recorded in releases/<version>/VERSION instead.
# Inputs:  ZF_HOST, ZF_VERSION, ZF_WORKER_URL, ZF_WORKER_SHA256, ZF_EXECUTOR_URL, ZF_EXECUTOR_SHA256,
#          ZF_KEEP_RELEASES, ZF_STEP_TIMEOUT (s); all required (host/steps.ts); the host layout from lib.sh
#          (ZF_ROOT, ZF_BIN_DIR).
# Output:  step=deploy host=<host> status=ok|skip version=<v> download=fetched|skipped previous=<v|none> pruned=<n>
# Exit codes: 0 ok/skip, 1 download failed / checksum mismatch / bad artifact, 2 bad input,
#          3 deadline passed (download timed out, or another deploy held the lock)
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-release.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-release.sh"

readonly STEP=deploy
readonly BINARIES=(zombied zombied-executor)
DEADLINE=0      # epoch seconds by which the step must be done
STAGING=""      # staging dir of this run, removed on exit (holds partial files and a replaced release)
CHANGES=0       # things this run changed on the host; none means status=skip
PRUNED=0        # releases removed by prune

cleanup() {
  if [[ -n "$STAGING" ]]; then rm -rf -- "$STAGING"; fi
}

check_inputs() {
  zf_require "$STEP" ZF_VERSION ZF_WORKER_URL ZF_WORKER_SHA256 ZF_EXECUTOR_URL ZF_EXECUTOR_SHA256 ZF_KEEP_RELEASES \
    ZF_STEP_TIMEOUT
  # The version names a directory: same rule as the config schema (config/schema.ts).
  if [[ ! "$ZF_VERSION" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_VERSION is not a release name (got ${ZF_VERSION})"
  fi
  local var
  for var in ZF_WORKER_SHA256 ZF_EXECUTOR_SHA256; do
    if [[ ! "${!var}" =~ ^[0-9a-f]{64}$ ]]; then
      zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="${var} must be 64 lowercase hex characters"
    fi
  done
  if [[ ! "$ZF_KEEP_RELEASES" =~ ^[1-9][0-9]*$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_KEEP_RELEASES must be a positive integer (got ${ZF_KEEP_RELEASES})"
  fi
  if [[ ! "$ZF_STEP_TIMEOUT" =~ ^[1-9][0-9]*$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_STEP_TIMEOUT must be whole seconds (got ${ZF_STEP_TIMEOUT})"
  fi
}

# seconds_left: seconds until DEADLINE, at least 1 (curl and flock take no 0).
seconds_left() {
  local left=$((DEADLINE - $(zf_now)))
  if ((left < 1)); then left=1; fi
  printf '%s' "$left"
}

# lock: one deploy per host at a time; a second one waits, bounded, then gives up.
lock() {
  local fd
  exec {fd}>"${ZF_ROOT}/.deploy.lock"
  if ! flock -w "$(seconds_left)" "$fd"; then
    zf_fail "$STEP" "$ZF_EXIT_TIMEOUT" reason="another deploy held ${ZF_ROOT}/.deploy.lock for ${ZF_STEP_TIMEOUT}s"
  fi
  # Staging dirs left by a deploy that was killed; safe to remove while we hold the lock.
  rm -rf -- "${ZF_ROOT}/releases/".staging-*
}

# artifact_record: what releases/<version>/ARTIFACTS holds for the requested artifacts.
artifact_record() {
  printf 'worker %s\nexecutor %s\n' "$ZF_WORKER_SHA256" "$ZF_EXECUTOR_SHA256"
}

# release_intact DIR: DIR is an installed release of ZF_VERSION from the requested artifacts, binaries unchanged.
release_intact() {
  local dir=$1
  [[ -d "$dir" && ! -L "$dir" ]] || return 1
  [[ -f "${dir}/VERSION" && "$(<"${dir}/VERSION")" == "$ZF_VERSION" ]] || return 1
  [[ -f "${dir}/ARTIFACTS" && "$(<"${dir}/ARTIFACTS")" == "$(artifact_record)" ]] || return 1
  (cd -- "$dir" && sha256sum --check --status --strict SHA256SUMS) 2>/dev/null
}

# download NAME URL SHA256 OUT: fetches URL to OUT (bounded, with retries) and checks its digest.
download() {
  local name=$1 url=$2 want=$3 out=$4 got rc=0 left
  left=$(seconds_left)
  echo "downloading the ${name} artifact from ${url}"
  # sha256 is the integrity check, so plain http is allowed (lab artifact server); file:// serves tests.
  curl --fail --silent --show-error --location --proto '=https,http,file' --connect-timeout 15 \
    --max-time "$left" --retry 3 --retry-delay 1 --retry-max-time "$left" --output "$out" -- "$url" || rc=$?
  if ((rc == 28)); then
    zf_fail "$STEP" "$ZF_EXIT_TIMEOUT" reason="download of the ${name} artifact timed out" url="$url" timeout="${left}s"
  elif ((rc != 0)); then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="download of the ${name} artifact failed (curl exit ${rc})" url="$url"
  fi
  got=$(sha256sum <"$out" | cut -d' ' -f1)
  if [[ "$got" != "$want" ]]; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="sha256 mismatch for the ${name} artifact" url="$url" \
      expected="$want" got="$got"
  fi
}

# unpack TARBALL BINARY DEST: takes the top-level regular file BINARY out of TARBALL into DEST/.
unpack() {
  local tarball=$1 binary=$2 dest=$3 scratch="${STAGING}/unpack-${2}"
  mkdir -p -- "$scratch"
  if ! tar -xzf "$tarball" -C "$scratch" --no-same-owner --no-same-permissions 2>/dev/null; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="the ${binary} artifact is not a readable .tar.gz"
  fi
  if [[ ! -f "${scratch}/${binary}" || -L "${scratch}/${binary}" ]]; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="the ${binary} artifact has no ${binary} file at its top level"
  fi
  mv -f -T -- "${scratch}/${binary}" "${dest}/${binary}"
  chmod 755 -- "${dest}/${binary}"
}

# fetch_release DIR: builds the release in the staging dir, then renames it to DIR in one step. A broken
# release already at DIR is first moved into the staging dir, which the exit trap removes.
fetch_release() {
  local dir=$1 build
  STAGING=$(mktemp -d "${ZF_ROOT}/releases/.staging-${ZF_VERSION}.XXXXXX")
  build="${STAGING}/release"
  mkdir -p -- "$build"
  download worker "$ZF_WORKER_URL" "$ZF_WORKER_SHA256" "${STAGING}/worker.tar.gz"
  download executor "$ZF_EXECUTOR_URL" "$ZF_EXECUTOR_SHA256" "${STAGING}/executor.tar.gz"
  unpack "${STAGING}/worker.tar.gz" zombied "$build"
  unpack "${STAGING}/executor.tar.gz" zombied-executor "$build"
  printf '%s\n' "$ZF_VERSION" >"${build}/VERSION"
  artifact_record >"${build}/ARTIFACTS"
  (cd -- "$build" && sha256sum -- "${BINARIES[@]}" >SHA256SUMS)
  chmod 755 -- "$build"
  # Two renames (Debian 12's mv has no --exchange): if `current` points at DIR it dangles between them, which is
  # harmless here because the worker is stopped during deploy (DESIGN.md §4).
  if [[ -e "$dir" || -L "$dir" ]]; then mv -T -- "$dir" "${STAGING}/replaced"; fi
  mv -T -- "$build" "$dir"
  CHANGES=$((CHANGES + 1))
}

# points_at LINK TARGET: LINK is a symlink to exactly TARGET.
points_at() { [[ -L "$1" && "$(readlink -- "$1")" == "$2" ]]; }

# is_current: current is ZF_VERSION and both binary links go through current (what zf_switch_current leaves).
is_current() {
  local binary
  points_at "${ZF_ROOT}/current" "releases/${ZF_VERSION}" || return 1
  for binary in "${BINARIES[@]}"; do points_at "${ZF_BIN_DIR}/${binary}" "${ZF_ROOT}/current/${binary}" || return 1; done
}

# switch_releases: previous -> the release current was on (when that differs), then current -> ZF_VERSION and
# the binary links, each link switched atomically (zf_relink, zf_switch_current in lib.sh).
switch_releases() {
  local before
  before=$(zf_release_of "${ZF_ROOT}/current")
  if [[ -n "$before" && "$before" != "$ZF_VERSION" && -d "${ZF_ROOT}/releases/${before}" ]] \
    && ! points_at "${ZF_ROOT}/previous" "releases/${before}"; then
    zf_relink "releases/${before}" "${ZF_ROOT}/previous"
    CHANGES=$((CHANGES + 1))
  fi
  if ! is_current; then
    if ! zf_switch_current "$ZF_VERSION"; then
      zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="could not switch current to releases/${ZF_VERSION}"
    fi
    CHANGES=$((CHANGES + 1))
  fi
  # The release made current is the most recently used: prune ranks releases by this time.
  touch -- "${ZF_ROOT}/releases/${ZF_VERSION}"
}

# prune: keeps the ZF_KEEP_RELEASES most recently used releases, counting current and previous, which are
# always kept (so with a keep of 1 both still stay).
prune() {
  local current previous stamp name slots
  current=$(zf_release_of "${ZF_ROOT}/current")
  previous=$(zf_release_of "${ZF_ROOT}/previous")
  slots=$ZF_KEEP_RELEASES
  for name in "$current" "$previous"; do
    if [[ -n "$name" && -d "${ZF_ROOT}/releases/${name}" ]]; then slots=$((slots - 1)); fi
  done
  while read -r stamp name; do
    if [[ -z "$stamp" || "$name" == "$current" || "$name" == "$previous" ]]; then continue; fi
    if ((slots > 0)); then
      slots=$((slots - 1))
      continue
    fi
    rm -rf -- "${ZF_ROOT}/releases/${name:?}"
    PRUNED=$((PRUNED + 1))
  done < <(find "${ZF_ROOT}/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %f\n' | sort -rn)
  CHANGES=$((CHANGES + PRUNED))
}

main() {
  local release download=skipped status=ok previous
  check_inputs
  DEADLINE=$(($(zf_now) + ZF_STEP_TIMEOUT))
  release="${ZF_ROOT}/releases/${ZF_VERSION}"
  mkdir -p -- "${ZF_ROOT}/releases"
  trap cleanup EXIT
  # A signal must end the script through exit, so the EXIT trap still removes the temp files.
  trap 'exit 143' TERM HUP INT
  lock
  if ! release_intact "$release"; then
    fetch_release "$release"
    download=fetched
  fi
  switch_releases
  prune
  previous=$(zf_release_of "${ZF_ROOT}/previous")
  if ((CHANGES == 0)); then status=skip; fi
  zf_status "$STEP" "$status" version="$ZF_VERSION" download="$download" previous="${previous:-none}" \
    pruned="$PRUNED"
}

main "$@"
