// What `npm run fleet -- status` knows of each host, and its verdict on the fleet. PURE: the JSON status.sh prints
// (host-scripts/status.sh) parsed and checked, and the exit code: 0 every host answered, healthy (both units
// active, not draining) and on one release; 1 otherwise. Rendering is fleet-format.ts.
import { z } from "zod";

const unitSchema = z.object({
  state: z.string(),
  sub: z.string(),
  since: z.string().nullable(),
  restarts: z.number().int().nonnegative().nullable(),
});

/** One host's answer: status.sh's output. */
export const hostReportSchema = z.object({
  host: z.string(),
  /** The host's clock, epoch seconds: ages are computed against it, never against this machine's. */
  now: z.number().int(),
  current: z.string().nullable(),
  previous: z.string().nullable(),
  units: z.object({ executor: unitSchema, worker: unitSchema }),
  draining: z.boolean(),
  /** The in-flight count the worker last logged while draining; null when it logged none since its start. */
  inFlight: z.number().int().nonnegative().nullable(),
  drainLine: z.string().nullable(),
  lastStep: z.object({
    step: z.string(),
    status: z.string(),
    line: z.string().nullable(),
    /** Epoch seconds of the step log's last write. */
    at: z.number().int(),
  }).nullable(),
});
export type HostReport = z.infer<typeof hostReportSchema>;

/** One worker of the stack, as asked: its report, or why there is none. */
export interface HostResult {
  name: string;
  /** The address SSH dialled; undefined when the stack's outputs have none for this worker. */
  address?: string;
  report?: HostReport;
  /** Why the host gave no report (no answer, refused, timed out, bad output). */
  error?: string;
  /** The release the stack's outputs record for this worker (what its last passed verify reported). */
  recorded?: string;
  /** Milliseconds the SSH session took. */
  ms?: number;
}

/** Parses what status.sh printed; an error string names what is wrong. */
export function parseHostReport(stdout: string): HostReport | { error: string } {
  const line = stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (line === undefined) {
    const first = stdout.trim().split("\n")[0] ?? "";
    return { error: `no status report in its answer${first ? ` (got: ${first.slice(0, 160)})` : " (empty)"}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return { error: `its status report is not JSON: ${(err as Error).message}` };
  }
  const parsed = hostReportSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `its status report is malformed at ${issue.path.join(".") || "(top)"}: ${issue.message}` };
  }
  return parsed.data;
}

export interface Verdict {
  /** 0 every host answered, healthy and on one release; 1 otherwise. */
  exitCode: 0 | 1;
  healthy: boolean;
  uniform: boolean;
  /** Release → hosts that run it (answered hosts only; "none" for a host without a release). */
  releases: Record<string, string[]>;
  /** One sentence per problem, naming the host. */
  problems: string[];
}

/** Why one answering host is not healthy, if it is not. */
export function hostProblems(name: string, r: HostReport): string[] {
  const problems: string[] = [];
  for (const unit of ["executor", "worker"] as const) {
    const u = r.units[unit];
    if (u.state !== "active") problems.push(`${name}: ${unit} is ${u.state}${u.sub ? `/${u.sub}` : ""}`);
  }
  if (r.draining) {
    problems.push(`${name}: worker is draining${r.inFlight !== null ? ` (${r.inFlight} runs in flight)` : ""}`);
  }
  if (r.current === null) problems.push(`${name}: no release (no /opt/zombie/current)`);
  return problems;
}

export function verdict(results: readonly HostResult[]): Verdict {
  const problems: string[] = [];
  const releases: Record<string, string[]> = {};
  for (const result of results) {
    if (!result.report) {
      problems.push(`${result.name}: did not answer (${result.error ?? "no report"})`);
      continue;
    }
    problems.push(...hostProblems(result.name, result.report));
    const release = result.report.current ?? "none";
    (releases[release] ??= []).push(result.name);
  }
  const healthy = problems.length === 0;
  const uniform = Object.keys(releases).length <= 1;
  if (!uniform) {
    const list = Object.entries(releases).sort(([a], [b]) => a.localeCompare(b)).map(([v, hosts]) => `${v} (${hosts.join(", ")})`);
    problems.push(`mixed releases: ${list.join(", ")}`);
  }
  return { exitCode: healthy && uniform ? 0 : 1, healthy, uniform, releases, problems };
}
