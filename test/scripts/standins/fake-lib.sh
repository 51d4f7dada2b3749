#!/usr/bin/env bash
# Summary: helpers shared by the test stand-ins (fake systemd, journald, zombied, tailscale). Sourced, never run.
# Inputs:  ZF_FAKE (the per-test fake state dir, set by test/scripts/harness.ts), ZF_UNIT_DIR (unit files),
#          ZF_STANDINS (this directory, optional), ZF_CLOCK_SKEW_FILE (the fake host's clock, see fake_now).
# State under $ZF_FAKE (tests read it through the harness):
#   units/<unit>/<Property>   one file per systemd property (ActiveState, SubState, NRestarts, MainPID, ...)
#   units/<unit>/stop|kick    flags from systemctl to the unit's supervisor (fake-unit)
#   knobs/<name>              key=value lines that shape a simulated process (see zombied-sim)
#   journal/<unit>.log        one entry per line: "<µs since epoch> <message>"; the µs value is the cursor
#   calls.log                 every stand-in invocation, one line each ("systemctl stop zombied-worker")
#   pids                      PIDs of background processes the stand-ins started (the harness kills them)
#   fail/<verb>               when present, `systemctl <verb>` prints its text to stderr and exits 1
# Exit codes: none of its own.

: "${ZF_FAKE:?ZF_FAKE must point at the fake state dir (set by test/scripts/harness.ts)}"
ZF_UNIT_DIR=${ZF_UNIT_DIR:-$ZF_FAKE/units.d}
# The stand-ins' own directory: ZF_STANDINS when the harness set it (each stand-in sources this file through it
# too), which spares every stand-in call the readlink and dirname processes; else found from this file's path.
# shellcheck disable=SC2034  # used by the stand-ins that source this file
FAKE_STANDINS=${ZF_STANDINS:-$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)}

fake_unit_name() { printf '%s' "${1%.service}"; }
# fake_now: FAKE_NOW_US is now on the fake host's clock, in µs since the epoch, without a fork. The clock is the one
# the steps read (host-scripts/lib.sh zf_now_ms): the real clock plus the milliseconds in ZF_CLOCK_SKEW_FILE,
# which a test moves (test/scripts/support/fake-systemd.ts advanceClock). Sharing it keeps journal times, cursors,
# `--since` and unit timestamps in step with a step's deadlines when a test makes one pass. Sleeps stay real time.
fake_now() {
  local skew=0
  if [[ -n "${ZF_CLOCK_SKEW_FILE:-}" && -s "$ZF_CLOCK_SKEW_FILE" ]]; then
    read -r skew <"$ZF_CLOCK_SKEW_FILE" || true
    if [[ ! "$skew" =~ ^[0-9]{1,12}$ ]]; then skew=0; fi
  fi
  FAKE_NOW_US=$(( ${EPOCHREALTIME//[.,]/} + skew * 1000 ))
}
fake_now_us() { fake_now; printf '%s' "$FAKE_NOW_US"; }
fake_record_call() { printf '%s\n' "$*" >>"$ZF_FAKE/calls.log"; }
fake_record_pid() { printf '%s\n' "$1" >>"$ZF_FAKE/pids"; }
fake_alive() { [[ -n "$1" && "$1" != 0 ]] && kill -0 "$1" 2>/dev/null; }

# fake_get UNIT PROP [DEFAULT]: a property of the fake unit (read by bash itself: no `cat` per property).
fake_get() {
  local file="$ZF_FAKE/units/$1/$2" value=''
  if [[ -s "$file" ]]; then IFS= read -r -d '' value <"$file" || true; fi
  printf '%s' "${value:-${3:-}}"
}

# fake_set UNIT PROP VALUE...: atomically (temp file + mv) so readers never see a half-written value.
fake_set() {
  local dir="$ZF_FAKE/units/$1" prop=$2
  shift 2
  mkdir -p "$dir"
  printf '%s' "$*" >"$dir/.$prop.$$" && mv -f "$dir/.$prop.$$" "$dir/$prop"
}

# fake_journal UNIT MESSAGE: one journal entry, written with a single append.
fake_journal() {
  mkdir -p "$ZF_FAKE/journal"
  fake_now
  printf '%s %s\n' "$FAKE_NOW_US" "$2" >>"$ZF_FAKE/journal/$1.log"
}

# fake_knob NAME KEY DEFAULT: $ZF_SIM_<KEY> (set by a release's wrapper) wins, then knobs/NAME, then DEFAULT.
fake_knob() {
  local name=$1 key=$2 default=$3 env_name line value=
  env_name="ZF_SIM_${key^^}"
  if [[ -n "${!env_name:-}" ]]; then printf '%s' "${!env_name}"; return; fi
  if [[ -f "$ZF_FAKE/knobs/$name" ]]; then
    while IFS= read -r line; do
      if [[ "$line" == "$key="* ]]; then value=${line#*=}; fi
    done <"$ZF_FAKE/knobs/$name"
  fi
  printf '%s' "${value:-$default}"
}

fake_unit_file() { printf '%s' "$ZF_UNIT_DIR/$1.service"; }

# fake_unit_setting UNIT KEY DEFAULT: the last KEY= value in the unit file (what systemd would use).
fake_unit_setting() {
  local file line value=
  file=$(fake_unit_file "$1")
  if [[ -f "$file" ]]; then
    while IFS= read -r line; do
      if [[ "$line" == "$2="* ]]; then value=${line#*=}; fi
    done <"$file"
  fi
  printf '%s' "${value:-$3}"
}

# fake_ms TIMESPAN: "2", "1.5", "1.5s", "500ms", "1min" -> milliseconds (integer).
fake_ms() {
  local span=$1 unit=s whole frac
  if [[ "$span" =~ ^([0-9.]+)(ms|s|sec|min)?$ ]]; then
    span=${BASH_REMATCH[1]}
    unit=${BASH_REMATCH[2]:-s}
  else
    printf '0'
    return
  fi
  whole=${span%%.*}
  frac=
  if [[ "$span" == *.* ]]; then frac=${span#*.}; fi
  frac=${frac}000
  local ms=$(( 10#${whole:-0} * 1000 + 10#${frac:0:3} ))
  case "$unit" in
    ms) ms=$(( ms / 1000 )) ;;
    min) ms=$(( ms * 60 )) ;;
  esac
  printf '%s' "$ms"
}

# fake_nap SECONDS: waits without forking a `sleep`: a read that times out on a pipe this process holds both ends
# of, so no line ever comes. The stand-ins' idle loops nap 20 times a second for a whole test; a fork each time was
# most of their CPU. A trapped signal ends the nap early, so a simulated process reacts to it at once.
fake_nap() {
  if [[ -z "${FAKE_NAP_FD:-}" ]]; then exec {FAKE_NAP_FD}<> <(:); fi
  read -r -t "$1" -u "$FAKE_NAP_FD" _ || true
}

# fake_sleep_ms MS: sleep for a number of milliseconds.
fake_sleep_ms() { sleep "$(( $1 / 1000 )).$(printf '%03d' $(( $1 % 1000 )))"; }
