#!/usr/bin/env bash
# Summary: installs the executor and worker unit files from base64 text, each atomically and only when its
#          content changed, runs `systemctl daemon-reload` when a file changed, and enables both units
#          (nothing upstream ever enabled them, so they did not survive a reboot: facts/zombied.md).
# Inputs:  ZF_HOST, ZF_UNIT_DIR, ZF_EXECUTOR_UNIT, ZF_WORKER_UNIT, ZF_EXECUTOR_UNIT_TEXT_B64, ZF_WORKER_UNIT_TEXT_B64
#          (the last two as environment or, as the program sends them, on stdin: one `NAME=base64` line each,
#          which keeps the command text short)
# Output:  step=install-units host=<host> status=ok|skip changed=true|false written=<n> enabled=<n>
# Exit codes: 0 ok/skip, 1 daemon-reload or enable failed / a file could not be written, 2 bad input
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly STEP=install-units
UNIT_TEMPS=()   # decoded unit texts, removed on exit unless renamed into place
WRITTEN=0       # unit files replaced
ENABLED=0       # units that were not enabled before

cleanup() {
  if ((${#UNIT_TEMPS[@]})); then rm -f -- "${UNIT_TEMPS[@]}"; fi
}

# check_unit_name NAME: a bare unit name, no path and no suffix (the script appends .service).
check_unit_name() {
  if [[ ! "$1" =~ ^[A-Za-z0-9@_.:-]+$ || "$1" == *..* ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="bad unit name ${1}"
  fi
}

# decode_unit NAME B64_VAR: decodes the unit text into a temp file in ZF_UNIT_DIR, named in UNIT_TEMPS[-1].
decode_unit() {
  local name=$1 var=$2 tmp
  tmp=$(mktemp "${ZF_UNIT_DIR}/.${name}.service.XXXXXX")
  UNIT_TEMPS+=("$tmp")
  if ! base64 -d <<<"${!var}" >"$tmp" 2>/dev/null || [[ ! -s "$tmp" ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="${var} is not base64 of a unit file"
  fi
  chmod 644 -- "$tmp"
}

# place_unit TMP NAME: moves TMP over NAME.service unless that already holds the same text.
place_unit() {
  local tmp=$1 target="${ZF_UNIT_DIR}/${2}.service"
  if [[ -f "$target" ]] && cmp -s -- "$tmp" "$target"; then return 0; fi
  if ! mv -f -T -- "$tmp" "$target"; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="could not write ${target}"
  fi
  WRITTEN=$((WRITTEN + 1))
}

# read_unit_texts: takes the two unit texts from stdin lines `ZF_..._UNIT_TEXT_B64=<base64>`; no other line.
read_unit_texts() {
  local line
  if [[ -t 0 ]]; then return 0; fi
  while IFS= read -r line || [[ -n "$line" ]]; do
    case "$line" in
      ZF_EXECUTOR_UNIT_TEXT_B64=* | ZF_WORKER_UNIT_TEXT_B64=*) printf -v "${line%%=*}" '%s' "${line#*=}" ;;
      "") ;;
      # Never echo the line: stdin is where secrets travel, and a wrong one may have been sent here.
      *) zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="a stdin line is not a unit text (ZF_*_UNIT_TEXT_B64=…)" ;;
    esac
  done
}

# enable_unit NAME: enables NAME.service unless it already is.
enable_unit() {
  local unit="${1}.service"
  if [[ "$(systemctl is-enabled "$unit" 2>/dev/null || true)" == enabled ]]; then return 0; fi
  if ! systemctl enable --quiet "$unit"; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="systemctl enable ${unit} failed"
  fi
  ENABLED=$((ENABLED + 1))
}

main() {
  read_unit_texts
  zf_require "$STEP" ZF_EXECUTOR_UNIT_TEXT_B64 ZF_WORKER_UNIT_TEXT_B64
  check_unit_name "$ZF_EXECUTOR_UNIT"
  check_unit_name "$ZF_WORKER_UNIT"
  trap cleanup EXIT
  # A signal must end the script through exit, so the EXIT trap still removes the temp files.
  trap 'exit 143' TERM HUP INT
  mkdir -p -- "$ZF_UNIT_DIR"
  # Decode both before placing either, so bad input changes nothing.
  decode_unit "$ZF_EXECUTOR_UNIT" ZF_EXECUTOR_UNIT_TEXT_B64
  decode_unit "$ZF_WORKER_UNIT" ZF_WORKER_UNIT_TEXT_B64
  place_unit "${UNIT_TEMPS[0]}" "$ZF_EXECUTOR_UNIT"
  place_unit "${UNIT_TEMPS[1]}" "$ZF_WORKER_UNIT"
  if ((WRITTEN > 0)) && ! systemctl daemon-reload; then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="systemctl daemon-reload failed" written="$WRITTEN"
  fi
  enable_unit "$ZF_EXECUTOR_UNIT"
  enable_unit "$ZF_WORKER_UNIT"
  if ((WRITTEN + ENABLED > 0)); then
    zf_status "$STEP" ok changed=true written="$WRITTEN" enabled="$ENABLED"
  else
    zf_status "$STEP" skip changed=false written=0 enabled=0
  fi
}

main "$@"
