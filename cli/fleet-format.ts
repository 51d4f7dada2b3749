// Renders `npm run fleet -- status`: a table per host and the verdict (text), or the same as JSON. PURE: times are
// shown from each host's own clock (status.sh `now`), so nothing here reads this machine's clock.
import { HostReport, HostResult, Verdict } from "./fleet-report";

export const STATUS_FORMATS = ["text", "json"] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

export interface StatusView {
  stack: string;
  /** The release the stack's config asks for. */
  configured: string;
  results: HostResult[];
  verdict: Verdict;
  /** Workers the stack marks `gone`: not asked. */
  gone: string[];
}

/** "42s", "3m10s", "2h05m": how long ago, from the host's clock. */
export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function unitCell(r: HostReport, unit: "executor" | "worker"): string {
  const u = r.units[unit];
  const restarts = u.restarts ? ` ${u.restarts} restarts` : "";
  return `${u.state}${u.since ? ` since ${u.since}` : ""}${restarts}`;
}

function drainCell(r: HostReport): string {
  if (!r.draining) return r.inFlight === null ? "no" : `no (last: ${r.inFlight} in flight)`;
  return r.inFlight === null ? "DRAINING" : `DRAINING ${r.inFlight} in flight`;
}

function stepCell(r: HostReport): string {
  const s = r.lastStep;
  if (!s) return "none";
  const when = `${new Date(s.at * 1000).toISOString().replace(".000Z", "Z")} (${age(r.now - s.at)} ago)`;
  return `${s.step} ${s.status} at ${when}${s.line ? `: ${s.line}` : ""}`;
}

function releaseCell(result: HostResult, r: HostReport): string {
  const current = r.current ?? "none";
  const recorded = result.recorded !== undefined && result.recorded !== current ? ` (stack outputs: ${result.recorded})` : "";
  return `${current}${recorded}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd());
}

/** The human view: one table row per host, then each host's last step, then the verdict. */
export function formatStatusText(view: StatusView): string {
  const answered = view.results.filter((r) => r.report).length;
  const lines = [`fleet status of stack ${view.stack} (config release ${view.configured}): ${answered} of ${view.results.length} hosts answered`];
  const rows = [["HOST", "RELEASE", "PREVIOUS", "EXECUTOR", "WORKER", "DRAIN"]];
  for (const result of view.results) {
    const r = result.report;
    if (!r) {
      rows.push([result.name, "?", "?", `NO ANSWER: ${result.error ?? "no report"}`]);
      continue;
    }
    rows.push([result.name, releaseCell(result, r), r.previous ?? "none", unitCell(r, "executor"), unitCell(r, "worker"), drainCell(r)]);
  }
  lines.push("", ...table(rows), "", "last rollout step on each host:");
  for (const result of view.results) {
    if (result.report) lines.push(`  ${result.name}: ${stepCell(result.report)}`);
  }
  if (view.gone.length) lines.push(`not asked (gone): ${view.gone.join(", ")}`);
  lines.push("", verdictLine(view.verdict), ...view.verdict.problems.map((p) => `  - ${p}`));
  return lines.join("\n") + "\n";
}

export function verdictLine(v: Verdict): string {
  if (v.exitCode === 0) {
    return `verdict: HEALTHY and UNIFORM on ${Object.keys(v.releases)[0] ?? "no hosts"} (exit 0)`;
  }
  const what = [v.healthy ? undefined : "NOT HEALTHY", v.uniform ? undefined : "NOT UNIFORM"].filter(Boolean).join(" and ");
  return `verdict: ${what} (exit 1)`;
}

/** The machine view: everything the text shows, as one JSON document. */
export function formatStatusJson(view: StatusView): string {
  return JSON.stringify({
    stack: view.stack,
    configuredRelease: view.configured,
    hosts: view.results.map((r) => ({
      name: r.name, address: r.address ?? null, answered: r.report !== undefined, error: r.error ?? null,
      recordedRelease: r.recorded ?? null, ms: r.ms ?? null, ...(r.report ? { report: r.report } : {}),
    })),
    gone: view.gone,
    verdict: view.verdict,
  }, null, 2) + "\n";
}
