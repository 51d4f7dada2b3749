#!/usr/bin/env bash
# Summary: joins the host to the tailnet. Installs tailscale when missing (the official install script, over
#          https), skips when the node is already running with this hostname, else reads the auth key from
#          stdin into a root-only temp file and runs `tailscale up --auth-key=file:<path>` (tailscale reads and
#          trims the file itself, so the key is never in argv, a variable or the output). Prints the address.
# Inputs:  ZF_HOST, ZF_TS_HOSTNAME, ZF_TS_TAGS (comma list), ZF_TS_INSTALL_URL, ZF_STEP_TIMEOUT (s); all required
#          (host/steps.ts); stdin: the auth key (secret).
# Output:  step=tailscale-join host=<host> status=ok|skip address=<tailscale ip -4> installed=true|false
# Exit codes: 0 ok/skip, 1 install or `tailscale up` failed / no address, 2 bad input, 3 a command timed out
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly STEP=tailscale-join
SCRATCH_DIR=""  # root-only directory for the key and the install script, removed on exit
INSTALLED=false
ADDRESS=""

cleanup() {
  if [[ -n "$SCRATCH_DIR" ]]; then rm -rf -- "$SCRATCH_DIR"; fi
}

check_inputs() {
  zf_require "$STEP" ZF_TS_HOSTNAME ZF_TS_TAGS ZF_TS_INSTALL_URL ZF_STEP_TIMEOUT
  if [[ ! "$ZF_TS_HOSTNAME" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_TS_HOSTNAME must be a lowercase hostname label (got ${ZF_TS_HOSTNAME})"
  fi
  if [[ ! "$ZF_TS_TAGS" =~ ^tag:[a-z0-9-]+(,tag:[a-z0-9-]+)*$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_TS_TAGS must be a comma list like tag:zombie-worker (got ${ZF_TS_TAGS})"
  fi
  if [[ ! "$ZF_STEP_TIMEOUT" =~ ^[1-9][0-9]*$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_STEP_TIMEOUT must be whole seconds (got ${ZF_STEP_TIMEOUT})"
  fi
}

# fail_for_rc RC WHAT: a fail line for a bounded command; 124 is timeout(1)'s "time ran out".
fail_for_rc() {
  local rc=$1 what=$2
  if ((rc == 124)); then
    zf_fail "$STEP" "$ZF_EXIT_TIMEOUT" reason="${what} did not finish within ${ZF_STEP_TIMEOUT}s"
  fi
  zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="${what} failed (exit ${rc})"
}

# install_tailscale: fetches the official install script to a file (never curl | sh: a cut-off download
# must not run half a script) and runs it, both bounded.
install_tailscale() {
  local script="${SCRATCH_DIR}/install.sh" rc=0
  if command -v tailscale >/dev/null; then return 0; fi
  echo "tailscale is missing; installing it from ${ZF_TS_INSTALL_URL}"
  curl --fail --silent --show-error --location --proto '=https,file' --max-time "$ZF_STEP_TIMEOUT" \
    --retry 3 --retry-delay 2 --output "$script" -- "$ZF_TS_INSTALL_URL" || rc=$?
  if ((rc != 0)); then zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="download of the install script failed (curl exit ${rc})"; fi
  timeout "$ZF_STEP_TIMEOUT" sh "$script" || rc=$?
  if ((rc != 0)); then fail_for_rc "$rc" "the tailscale install script"; fi
  if ! command -v tailscale >/dev/null; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="tailscale is still missing after the install script ran"
  fi
  INSTALLED=true
}

# joined: the node is logged in and running under ZF_TS_HOSTNAME. `--peers=false` leaves Self as the only
# node in the JSON, so the one HostName in it is ours (the hostname is checked to be [a-z0-9-] above).
joined() {
  local status
  status=$(timeout 20 tailscale status --json --peers=false 2>/dev/null) || return 1
  grep -Eq '"BackendState": *"Running"' <<<"$status" \
    && grep -Eq "\"HostName\": *\"${ZF_TS_HOSTNAME}\"" <<<"$status"
}

# join: the key goes from stdin into a mode-600 file in a mode-700 directory; tailscale reads it from there.
join() {
  local key_file="${SCRATCH_DIR}/auth-key" out rc=0
  if [[ -t 0 ]]; then zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="the auth key must arrive on stdin"; fi
  (umask 077 && cat >"$key_file")
  # grep, not a $(…) test: ZF_TRACE (set -x) would print the key as the test's operand.
  if ! grep -q '[^[:space:]]' -- "$key_file"; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="empty auth key on stdin"
  fi
  # --reset: the flags given are the whole wanted state, so a changed tag or hostname does not make
  # tailscale refuse with "requires mentioning all non-default flags".
  out=$(timeout "$ZF_STEP_TIMEOUT" tailscale up --reset --auth-key="file:${key_file}" \
    --hostname="$ZF_TS_HOSTNAME" --advertise-tags="$ZF_TS_TAGS" 2>&1) || rc=$?
  rm -f -- "$key_file"
  if ((rc != 0)); then
    printf '%s\n' "$out" | tail -n 5
    fail_for_rc "$rc" "tailscale up"
  fi
}

# read_address: sets ADDRESS to the node's first IPv4 tailnet address; false while it has none.
read_address() {
  ADDRESS=$(tailscale ip -4 2>/dev/null | head -n 1) && [[ -n "$ADDRESS" ]]
}

# wait_for_address: waits briefly for ADDRESS, since a node that just came up may not have one yet.
wait_for_address() {
  if ! zf_wait_until 30 read_address; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="no tailscale IPv4 address within 30s" \
      state="$(timeout 10 tailscale status 2>&1 | head -n 1 || true)"
  fi
}

main() {
  local status=ok
  check_inputs
  trap cleanup EXIT
  # A signal must end the script through exit, so the EXIT trap still removes the temp files.
  trap 'exit 143' TERM HUP INT
  SCRATCH_DIR=$(umask 077 && mktemp -d "${TMPDIR:-/tmp}/zf-tailscale.XXXXXX")
  install_tailscale
  if joined; then
    status=skip
  else
    join
  fi
  wait_for_address
  zf_status "$STEP" "$status" address="$ADDRESS" installed="$INSTALLED"
}

main "$@"
