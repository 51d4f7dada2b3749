#!/usr/bin/env bash
# Summary: packages the stand-in zombied (lab/zombied/) into release artifacts like the real ones:
#          $LAB_DIR/artifacts/<version>/{zombied,zombied-executor}-linux-amd64.tar.gz (the binary at the top
#          level), SHA256SUMS, and release.json ({version, worker: {url, sha256}, executor: {url, sha256}}, the
#          shape of the stack's `release` config). A version's fault knob is the part after `vN-` and is baked
#          into the files; tarballs are reproducible, so a version's sha256 is the same on every build.
# Inputs:  `build BASE_URL` (the artifact server, e.g. http://10.231.0.1:8080); LAB_DIR; LAB_VERSIONS
#          (default: v1 v2 v3-bad-doctor v3-crashloop v3-failing-runs); LAB_TRACE=1 for set -x.
# Exit codes: 0 ok, 2 bad usage.
set -euo pipefail
if [[ "${LAB_TRACE:-}" == 1 ]]; then set -x; fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${LAB_DIR:-$(dirname "$HERE")/.lab}
OUT=$LAB_DIR/artifacts
VERSIONS=${LAB_VERSIONS:-v1 v2 v3-bad-doctor v3-crashloop v3-failing-runs}

# fault_of VERSION: v3-crashloop → crashloop, v1 → "" (healthy).
fault_of() {
  local rest=${1#v[0-9]*}
  if [[ "$rest" == -* ]]; then echo "${rest#-}"; fi
}

# bake SRC VERSION FAULT DEST: the stand-in with its VERSION and FAULT lines filled in, executable.
bake() {
  sed -e "s/^VERSION = .*/VERSION = \"$2\"/" -e "s/^FAULT = .*/FAULT = \"$3\"/" "$1" >"$4"
  grep -q "^VERSION = \"$2\"$" "$4"
  chmod 755 "$4"
}

# pack DIR FILE TARBALL: a deterministic .tar.gz holding FILE at its top level.
pack() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - "$2" | gzip -n -9 >"$3"
}

# build_version VERSION BASE_URL
build_version() {
  local version=$1 base=$2 fault dir stage
  fault=$(fault_of "$version")
  dir=$OUT/$version && stage=$dir/.stage
  rm -rf "$dir" && mkdir -p "$stage"
  bake "$HERE/zombied/zombied.py" "$version" "$fault" "$stage/zombied"
  bake "$HERE/zombied/zombied_executor.py" "$version" "$fault" "$stage/zombied-executor"
  pack "$stage" zombied "$dir/zombied-linux-amd64.tar.gz"
  pack "$stage" zombied-executor "$dir/zombied-executor-linux-amd64.tar.gz"
  rm -rf "$stage"
  (cd "$dir" && sha256sum -- *.tar.gz >SHA256SUMS)
  release_json "$version" "$base/$version" "$dir" >"$dir/release.json"
}

# release_json VERSION URL_PREFIX DIR
release_json() {
  local worker executor
  worker=$(sha256sum "$3/zombied-linux-amd64.tar.gz" | cut -d' ' -f1)
  executor=$(sha256sum "$3/zombied-executor-linux-amd64.tar.gz" | cut -d' ' -f1)
  printf '{\n  "version": "%s",\n' "$1"
  printf '  "worker": { "url": "%s/zombied-linux-amd64.tar.gz", "sha256": "%s" },\n' "$2" "$worker"
  printf '  "executor": { "url": "%s/zombied-executor-linux-amd64.tar.gz", "sha256": "%s" }\n}\n' "$2" "$executor"
}

main() {
  local version
  if [[ "${1:-}" != build || -z "${2:-}" ]]; then
    echo "usage: artifacts.sh build BASE_URL" >&2 && exit 2
  fi
  for version in $VERSIONS; do
    build_version "$version" "${2%/}"
    echo "$OUT/$version"
  done
}

main "$@"
