#!/usr/bin/env bash
# Summary: what this host runs, as ONE JSON object on stdout, for `npm run fleet -- status` (cli/fleet.ts): the
#          releases `current` and `previous` point to, both units' state and since when, whether the worker is
#          draining and the runs in flight it last reported, and the last rollout step's status line and time.
#          Reads only; changes nothing. Not a rollout step: the CLI runs it directly over SSH, never via run.sh.
# Inputs:  ZF_HOST, ZF_DRAIN_COMPLETE_LOG, ZF_STEP_TIMEOUT (s, bounds each journal read); all required, given by
#          cli/fleet-ssh.ts statusCommand; the host layout from lib.sh.
# Output:  {"host":…,"now":<epoch s>,"current":…,"previous":…,"units":{"executor":{state,sub,since,restarts},
#          "worker":{…}},"draining":true|false,"inFlight":<n>|null,"drainLine":…,"lastStep":{step,status,line,at}|null}
# Exit codes: 0 printed (whatever the host's health: the CLI judges it), 2 bad input.
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-drain.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-drain.sh"
# shellcheck source=host-scripts/lib-release.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-release.sh"

readonly STEP=status
# The steps whose logs run.sh keeps in $ZF_ROOT/log/<step>.log, emptied when the step starts (run.sh).
readonly ROLLOUT_LOGS=(drain stop deploy restart-executor start-worker verify canary-gate)
ZF_PROP_NRestarts='' ZF_PROP_ActiveEnterTimestamp='' # set by zf_unit_show

# json_str TEXT: TEXT as a JSON string (control characters dropped).
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//[$'\x01'-$'\x1f']/}
  printf '"%s"' "$s"
}

# json_or_null TEXT: a JSON string, or null when TEXT is empty.
json_or_null() { if [[ -n "$1" ]]; then json_str "$1"; else printf null; fi; }

# release_json LINK: the version LINK's release records, or null.
release_json() {
  local name
  name=$(zf_release_of "${ZF_ROOT}/$1")
  if [[ -z "$name" ]]; then printf null; else json_str "$(zf_release_version "$name")"; fi
}

# unit_json UNIT: {"state","sub","since","restarts"} from one systemctl show.
unit_json() {
  zf_unit_show "$1" ActiveState SubState ActiveEnterTimestamp NRestarts || true
  printf '{"state":%s,"sub":%s,"since":%s,"restarts":%s}' "$(json_str "${ZF_PROP_ActiveState:-unknown}")" \
    "$(json_str "$ZF_PROP_SubState")" "$(json_or_null "$ZF_PROP_ActiveEnterTimestamp")" \
    "$(if [[ "$ZF_PROP_NRestarts" =~ ^[0-9]+$ ]]; then printf '%s' "$ZF_PROP_NRestarts"; else printf null; fi)"
}

# drain_state: DRAINING (true|false) and the drain line the worker logged since it last became active, if any.
# zombied logs drain progress (`drain start in_flight=N`, `worker.drain_progress in_flight=N`, facts/zombied.md) only
# while it drains: the last such line of this start says whether it still drains and how many runs it holds.
DRAINING=false DRAIN_LINE=''
drain_state() {
  local since='' line
  zf_unit_show "$ZF_WORKER_UNIT" ActiveState ActiveEnterTimestamp || true
  if [[ "$ZF_PROP_ActiveState" == deactivating ]]; then DRAINING=true; fi # its stop signal is the drain signal
  if [[ ! "$ZF_PROP_ActiveState" =~ ^(active|reloading|deactivating)$ ]]; then return 0; fi
  if [[ -n "$ZF_PROP_ActiveEnterTimestamp" ]]; then since=$(date -d "$ZF_PROP_ActiveEnterTimestamp" +%s 2>/dev/null || true); fi
  # The newest 500 entries only (read backwards from the end): a draining worker logs its progress every second or
  # so, and a worker up for weeks must not cost a read of its whole journal.
  line=$(timeout "$ZF_STEP_TIMEOUT" journalctl -q --no-pager -u "$ZF_WORKER_UNIT" ${since:+--since "@${since}"} -n 500 \
    -o cat 2>/dev/null | grep -E 'drain' | tail -n 1 || true)
  if [[ -z "$line" ]]; then return 0; fi
  zf_drain_note "$line"
  DRAIN_LINE=$ZF_DRAIN_LAST
  if [[ "$line" != *"$ZF_DRAIN_COMPLETE_LOG"* && ! "$line" =~ drain.?(complete|timeout) ]]; then DRAINING=true; fi
}

# last_step_json: the newest rollout step log's status line and its time; "running" while a step has printed none.
last_step_json() {
  local step newest='' newest_at=0 at line status
  for step in "${ROLLOUT_LOGS[@]}"; do
    at=$(stat -c %Y -- "${ZF_ROOT}/log/${step}.log" 2>/dev/null || true)
    if [[ "$at" =~ ^[0-9]+$ ]] && (( at >= newest_at )); then newest=$step newest_at=$at; fi
  done
  if [[ -z "$newest" ]]; then printf null; return 0; fi
  line=$(grep -E '^step=' -- "${ZF_ROOT}/log/${newest}.log" 2>/dev/null | tail -n 1 || true)
  if [[ "$line" =~ \ status=([a-z]+) ]]; then
    status=${BASH_REMATCH[1]}
  elif pgrep -f -- "/run\.sh ${newest}\$" >/dev/null 2>&1; then
    status=running
  else
    status=unknown # the step ended without a status line (run.sh printed the failure, not the log)
  fi
  printf '{"step":%s,"status":%s,"line":%s,"at":%s}' "$(json_str "$newest")" "$(json_str "$status")" \
    "$(json_or_null "$line")" "$newest_at"
}

main() {
  zf_require "$STEP" ZF_HOST ZF_DRAIN_COMPLETE_LOG ZF_STEP_TIMEOUT
  zf_require_seconds "$STEP" ZF_STEP_TIMEOUT
  drain_state
  local in_flight=null
  if [[ -n "$DRAIN_LINE" && "$ZF_DRAIN_IN_FLIGHT" =~ ^[0-9]+$ ]]; then in_flight=$ZF_DRAIN_IN_FLIGHT; fi
  printf '{"host":%s,"now":%s,"current":%s,"previous":%s,"units":{"executor":%s,"worker":%s},' \
    "$(json_str "$ZF_HOST")" "$(zf_now)" "$(release_json current)" "$(release_json previous)" \
    "$(unit_json "$ZF_EXECUTOR_UNIT")" "$(unit_json "$ZF_WORKER_UNIT")"
  printf '"draining":%s,"inFlight":%s,"drainLine":%s,"lastStep":%s}\n' "$DRAINING" "$in_flight" \
    "$(json_or_null "$DRAIN_LINE")" "$(last_step_json)"
}

main "$@"
