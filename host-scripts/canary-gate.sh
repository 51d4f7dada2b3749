#!/usr/bin/env bash
# Summary: the canary gate. Takes a journal cursor and a baseline of four counters from Prometheus text at
#          ZF_METRICS_URL, then polls (every ZF_CANARY_POLL s, until ZF_CANARY_DEADLINE) until ZF_CANARY_RUNS new
#          sessions ran with no increase of failures, OOM kills or landlock denials and no new log line matching
#          ZF_ERROR_PATTERN in the worker's or executor's journal. A counter matches a series whose metric name
#          is the name or ends with `_<name>` (zombied exports `zombie_executor_<name>`: facts/zombied.md); label
#          variants are summed. Without ZF_METRICS_URL it only watches the logs for ZF_MIN_HEALTHY seconds.
# Inputs:  ZF_HOST, ZF_METRICS_URL (optional; `{host}` becomes ZF_HOST), ZF_CANARY_RUNS, ZF_CANARY_DEADLINE (s),
#          ZF_CANARY_POLL (s), ZF_ON_SHORTFALL (fail|proceed), ZF_COUNTER_SESSIONS, ZF_COUNTER_FAILURES,
#          ZF_COUNTER_OOM, ZF_COUNTER_LANDLOCK, ZF_ERROR_PATTERN (grep -E), ZF_MIN_HEALTHY (s); all but
#          ZF_METRICS_URL required (host/steps.ts); the host layout from lib.sh.
# Output:  step=canary-gate host=<host> status=ok|fail sessions=<+n> failures=<+n> oom=<+n> landlock=<+n> …
# Exit codes: 0 passed (or short of runs with ZF_ON_SHORTFALL=proceed), 1 a bad counter rose, a new error line,
#          a counter went down or the metrics could not be read, 2 bad input, 3 too few runs by the deadline
set -euo pipefail
# shellcheck source=host-scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=host-scripts/lib-drain.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-drain.sh"

readonly STEP=canary-gate
ZF_METRICS_URL=${ZF_METRICS_URL:-} # optional: without it the gate watches the logs only
GATE_UNITS=("$ZF_WORKER_UNIT" "$ZF_EXECUTOR_UNIT")
CURSORS=()        # per unit of GATE_UNITS: its journal cursor when the gate began ("" when it had no entries)
GATE_STARTED=0    # epoch seconds when the gate began
SCRAPED=""        # the four sums from the last scrape, "sessions failures oom landlock"
BASELINE=""       # the four sums when the gate began
DELTAS=()         # status-line fields of the last evaluation (sessions=+n …)
VERDICT=""        # of the last evaluation: bad, reset, done or wait

check_inputs() {
  local var
  zf_require "$STEP" ZF_CANARY_RUNS ZF_CANARY_DEADLINE ZF_CANARY_POLL ZF_ON_SHORTFALL ZF_COUNTER_SESSIONS \
    ZF_COUNTER_FAILURES ZF_COUNTER_OOM ZF_COUNTER_LANDLOCK ZF_ERROR_PATTERN ZF_MIN_HEALTHY
  for var in ZF_CANARY_RUNS ZF_CANARY_DEADLINE ZF_MIN_HEALTHY; do
    if [[ ! "${!var}" =~ ^[0-9]+$ ]]; then zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="${var} must be a whole number (got ${!var})"; fi
  done
  if ((ZF_CANARY_RUNS < 1)); then zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_CANARY_RUNS must be at least 1"; fi
  # sleep(1) takes fractions; tests poll faster than the program does (CANARY_POLL_SECONDS).
  if [[ ! "$ZF_CANARY_POLL" =~ ^[0-9]*\.?[0-9]+$ || "$ZF_CANARY_POLL" =~ ^[0.]+$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_CANARY_POLL must be a positive number of seconds (got ${ZF_CANARY_POLL})"
  fi
  if [[ ! "$ZF_ON_SHORTFALL" =~ ^(fail|proceed)$ ]]; then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_ON_SHORTFALL must be fail or proceed (got ${ZF_ON_SHORTFALL})"
  fi
  for var in ZF_COUNTER_SESSIONS ZF_COUNTER_FAILURES ZF_COUNTER_OOM ZF_COUNTER_LANDLOCK; do
    if [[ ! "${!var}" =~ ^[A-Za-z_:][A-Za-z0-9_:]*$ ]]; then zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="${var} is not a metric name (got ${!var})"; fi
  done
  # grep exits 2 on a pattern it cannot compile, 1 on no match.
  local rc=0
  grep -Eq -- "$ZF_ERROR_PATTERN" </dev/null || rc=$?
  if ((rc == 2)); then
    zf_fail "$STEP" "$ZF_EXIT_USAGE" reason="ZF_ERROR_PATTERN is not an extended regular expression"
  fi
}

# mark_journal: remember where each unit's journal ends now. A cursor, not a --since window: a relative window
# matched an older line in upstream's own deploy script (facts/zombied.md). One cursor per unit (zf_journal_cursor
# explains why). A unit with no entries yet has no cursor: its entries since the start count.
mark_journal() {
  local i
  GATE_STARTED=$(zf_now)  # before the cursor queries, so a line logged while they run still counts as new
  for i in "${!GATE_UNITS[@]}"; do CURSORS[i]=$(zf_journal_cursor "${GATE_UNITS[i]}"); done
}

# new_log_lines: every entry of both units since mark_journal; 1 when journalctl fails.
new_log_lines() {
  local i from
  for i in "${!GATE_UNITS[@]}"; do
    from="--since=@${GATE_STARTED}"
    if [[ -n "${CURSORS[i]}" ]]; then from="--after-cursor=${CURSORS[i]}"; fi
    journalctl -q --no-pager -u "${GATE_UNITS[i]}" "$from" -o cat || return 1
  done
}

# check_logs: fails the gate on a new journal line of either unit that matches ZF_ERROR_PATTERN.
check_logs() {
  local lines count
  if ! lines=$(new_log_lines); then
    zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="journalctl failed; cannot watch the logs" "${DELTAS[@]}"
  fi
  lines=$(grep -E -- "$ZF_ERROR_PATTERN" <<<"$lines" || true)
  if [[ -z "$lines" ]]; then return 0; fi
  count=$(wc -l <<<"$lines")
  # The first few lines, cut short: they say why, without flooding the deploy log.
  head -n 3 <<<"$lines" | cut -c1-200 | sed 's/^/new error line: /'
  zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="new log lines match the error pattern" error_lines="$count" "${DELTAS[@]}"
}

# scrape: sets SCRAPED to the four counter sums from the metrics URL; 1 when it cannot be read.
scrape() {
  local url text
  url=${ZF_METRICS_URL//\{host\}/$ZF_HOST}
  text=$(curl --fail --silent --show-error --max-time 5 --proto '=https,http,file' -- "$url" 2>&1) || {
    echo "could not read ${url}: ${text:0:200}"
    return 1
  }
  SCRAPED=$(awk -v names="$ZF_COUNTER_SESSIONS $ZF_COUNTER_FAILURES $ZF_COUNTER_OOM $ZF_COUNTER_LANDLOCK" '
    BEGIN { n = split(names, want, " ") }
    /^[[:space:]]*(#|$)/ { next }
    {
      match($0, /^[A-Za-z_:][A-Za-z0-9_:]*/)
      metric = substr($0, 1, RLENGTH)
      rest = substr($0, RLENGTH + 1)
      if (substr(rest, 1, 1) == "{") { rest = substr(rest, index(rest, "}") + 1) }
      split(rest, parts, " ")
      for (i = 1; i <= n; i++) {
        suffix = "_" want[i]
        if (metric == want[i] || (length(metric) > length(suffix) && substr(metric, length(metric) - length(suffix) + 1) == suffix)) {
          sum[i] += parts[1]
        }
      }
    }
    END { for (i = 1; i <= n; i++) printf "%.15g%s", sum[i] + 0, (i < n ? " " : "\n") }
  ' <<<"$text")
}

# evaluate: compares SCRAPED with BASELINE; sets DELTAS and VERDICT (bad, reset, done or wait).
evaluate() {
  local out
  out=$(awk -v base="$BASELINE" -v now="$SCRAPED" -v runs="$ZF_CANARY_RUNS" '
    BEGIN {
      split(base, b, " "); split(now, c, " "); split("sessions failures oom landlock", key, " ")
      verdict = "wait"
      for (i = 1; i <= 4; i++) {
        d[i] = c[i] - b[i]
        printf "%s=%s%.15g ", key[i], (d[i] >= 0 ? "+" : ""), d[i]
        if (d[i] < 0) verdict = "reset"
      }
      if (verdict != "reset") {
        if (d[2] > 0 || d[3] > 0 || d[4] > 0) verdict = "bad"
        else if (d[1] >= runs) verdict = "done"
      }
      print verdict
    }')
  read -r -a DELTAS <<<"${out% *}"
  VERDICT=${out##* }
}

# baseline: the counters when the gate began; a few tries, since a metrics endpoint that cannot be read now
# is misconfigured more often than it is slow.
baseline() {
  local try
  for try in 1 2 3; do
    if scrape; then BASELINE=$SCRAPED; return 0; fi
    if ((try < 3)); then sleep "$ZF_CANARY_POLL"; fi
  done
  zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="could not read the metrics URL" url="$ZF_METRICS_URL"
}

watch_metrics() {
  local end last="" failed_scrapes=0
  end=$(($(zf_now) + ZF_CANARY_DEADLINE))
  baseline
  echo "baseline sessions failures oom landlock: ${BASELINE}; waiting for ${ZF_CANARY_RUNS} new sessions"
  DELTAS=(sessions=+0 failures=+0 oom=+0 landlock=+0)
  zf_progress_begin "$ZF_CANARY_DEADLINE" "${ZF_CANARY_RUNS} new sessions with no failure, OOM kill, landlock denial or error line" gate_state
  while :; do
    zf_progress_tick
    sleep "$ZF_CANARY_POLL"
    check_logs
    if scrape; then
      evaluate
      if [[ "${DELTAS[*]}" != "$last" ]]; then echo "canary: ${DELTAS[*]}"; last="${DELTAS[*]}"; fi
      case "$VERDICT" in
        bad) zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="a bad counter rose on the canary" "${DELTAS[@]}" ;;
        reset) zf_fail "$STEP" "$ZF_EXIT_FAILED" reason="a counter went down (metrics reset?); cannot judge the canary" "${DELTAS[@]}" ;;
        done) zf_status "$STEP" ok "${DELTAS[@]}" runs="$ZF_CANARY_RUNS" error_lines=0; return 0 ;;
      esac
    else
      failed_scrapes=$((failed_scrapes + 1))
    fi
    if (($(zf_now) >= end)); then break; fi
  done
  shortfall "$failed_scrapes"
}

# gate_state: the counters since the baseline, for progress lines.
gate_state() { printf '%s' "${DELTAS[*]}"; }

# shortfall FAILED_SCRAPES: the deadline passed with too few runs and nothing bad seen.
shortfall() {
  local reason="fewer than ${ZF_CANARY_RUNS} new sessions within ${ZF_CANARY_DEADLINE}s"
  if [[ "$ZF_ON_SHORTFALL" == proceed ]]; then
    zf_status "$STEP" ok "${DELTAS[@]}" runs="$ZF_CANARY_RUNS" shortfall=true failed_scrapes="$1" note="${reason}; proceeding as configured"
    return 0
  fi
  zf_fail "$STEP" "$ZF_EXIT_TIMEOUT" reason="$reason" "${DELTAS[@]}" failed_scrapes="$1"
}

watch_logs_only() {
  local end
  end=$(($(zf_now) + ZF_MIN_HEALTHY))
  echo "no metrics URL: watching the logs only, for ${ZF_MIN_HEALTHY}s"
  zf_progress_begin "$ZF_MIN_HEALTHY" "${ZF_MIN_HEALTHY}s with no error line in the logs (no metrics URL)"
  while (($(zf_now) < end)); do
    zf_progress_tick
    sleep "$ZF_CANARY_POLL"
    check_logs
  done
  check_logs
  zf_status "$STEP" ok mode=logs-only metrics=none watched="${ZF_MIN_HEALTHY}s" error_lines=0
}

main() {
  check_inputs
  mark_journal
  if [[ -n "$ZF_METRICS_URL" ]]; then watch_metrics; else watch_logs_only; fi
}

main "$@"
