#!/usr/bin/env bash
# Summary: `npm run pulumi:install` — builds the Pulumi CLI at exactly the version of @pulumi/pulumi in
#   package.json from the Go module proxy, and the lab's `command` provider plugin (lab/command-plugin), into a
#   cache outside the repository. Idempotent: a build whose version is already cached is skipped.
#   An operator who installed the CLI from pulumi.com needs none of this (README "Real use").
# Inputs: XDG_CACHE_HOME (default ~/.cache); ZF_PULUMI_CACHE overrides the whole cache directory.
# Output: progress on stderr; the LAST line of stdout is the directory that holds `pulumi`.
# Exit codes: 0 built or cached, 1 a build failed, 2 Go or Node missing.
#
# What cannot be built here, and why (checked 2026-12-02): the Go module proxy answers 403 "This module version
# is not available" for github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3,
# github.com/pulumi/pulumi-command/provider, github.com/pulumi/pulumi-tailscale/provider and
# github.com/ovh/pulumi-ovh/provider at their release tags and at commit pseudo-versions. So the lab runs the
# program as an Automation API inline program (the SDK serves the language runtime itself; no
# pulumi-language-nodejs needed) and serves `command:remote:Command` with lab/command-plugin.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'pulumi:install: %s\n' "$*" >&2; }

# Go from the machine image may not be on a non-login shell's PATH.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
command -v go >/dev/null || { log "needs Go 1.25 or newer (https://go.dev/doc/install)"; exit 2; }
# Build from module sources only: no VCS stamping (a CI clone's .git may belong to another user).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
command -v node >/dev/null || { log "needs Node.js"; exit 2; }

dep_version() { node -e 'const p=require(process.argv[1]); console.log(p.dependencies[process.argv[2]])' "$root/package.json" "$1"; }
sdk_version=$(dep_version @pulumi/pulumi)
command_version=$(dep_version @pulumi/command)
cache=${ZF_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zombie-fleet}
cli_dir=$cache/pulumi-v$sdk_version/bin

# The CLI: pkg/v3's go.mod replaces sdk/v3 with ../sdk and clipboard with a fork; `go install` refuses modules
# with replace directives, so a throwaway wrapper module pins both and repeats the clipboard replace.
build_cli() {
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  cat >"$work/go.mod" <<MOD
module zombie-fleet.local/pulumi-cli

go 1.25

require (
	github.com/pulumi/pulumi/pkg/v3 v$sdk_version
	github.com/pulumi/pulumi/sdk/v3 v$sdk_version
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$work/tools.go"
  log "building the Pulumi CLI v$sdk_version from Go modules (first time: 10-25 min on 2 cores)"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy >&2 && mkdir -p "$cli_dir" &&
    go build -o "$cli_dir/pulumi.tmp" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$sdk_version" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2)
  mv "$cli_dir/pulumi.tmp" "$cli_dir/pulumi"
}

# The lab's command plugin, cached by a hash of its sources.
build_plugin() {
  local src=$root/lab/command-plugin hash out
  hash=$(cd "$src" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  out=$cache/lab-command-plugin-$hash/pulumi-resource-command
  if [ ! -x "$out" ]; then
    log "building the lab's command plugin ($hash)"
    (cd "$src" && go build -o "$out.tmp" -ldflags "-X main.Version=$command_version" . >&2)
    mv "$out.tmp" "$out"
  fi
  ln -sfn "$out" "$cache/lab-command-plugin"
}

if [ -x "$cli_dir/pulumi" ] && [ "$("$cli_dir/pulumi" version 2>/dev/null)" = "v$sdk_version" ]; then
  log "Pulumi CLI v$sdk_version already built"
else
  build_cli
fi
build_plugin
log "lab command plugin: $cache/lab-command-plugin (serves command $command_version)"
echo "$cli_dir"
