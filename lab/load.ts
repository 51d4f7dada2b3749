// Load for the lab's run queue, and the checker that proves no run was lost or run twice.
// Talks to Redis through `redis-cli --json` (Debian's redis-tools), so the repo needs no Redis client package.
// The queue is the real one's shape (facts/zombied.md): stream `run_queue`, consumer group `workers`; the
// stand-in worker records each completion in `run_completions` (HINCRBY) and `run_log` (who, which version).
//
//   node --import tsx lab/load.ts enqueue [--seconds 60] [--rate 1] [--min-ms 1000] [--max-ms 10000]
//   node --import tsx lab/load.ts check [--wait SECONDS] [--expect-clean]
//   node --import tsx lab/load.ts reset
import { execFile } from "node:child_process";
import path from "node:path";
import { readLabHosts } from "./hosts";

export const STREAM = "run_queue";
export const GROUP = "workers";
export const COMPLETIONS = "run_completions";
export const RUN_LOG = "run_log";

export interface RedisTarget {
  host: string;
  port: number;
}

export function labRedis(): RedisTarget {
  const { host, port } = readLabHosts().redis;
  return { host, port };
}

/** One command; the reply parsed from redis-cli's JSON. redis-cli exits 0 on error replies: those throw here. */
export function redis(target: RedisTarget, ...args: string[]): Promise<unknown> {
  const argv = ["-h", target.host, "-p", String(target.port), "--json", ...args];
  return new Promise((resolve, reject) => {
    execFile("redis-cli", argv, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const out = stdout.trim();
      if (err || out.startsWith("error:") || out.startsWith("(error)")) {
        reject(new Error(`redis-cli ${args.join(" ")}: ${out || stderr.trim() || String(err)}`));
        return;
      }
      try {
        resolve(out === "" ? null : JSON.parse(out));
      } catch {
        reject(new Error(`redis-cli ${args.join(" ")}: unparsable reply ${out.slice(0, 200)}`));
      }
    });
  });
}

/** The group starts at 0 so runs enqueued before any worker started are still delivered. */
export async function ensureGroup(target: RedisTarget): Promise<void> {
  await redis(target, "XGROUP", "CREATE", STREAM, GROUP, "0", "MKSTREAM").catch((err: Error) => {
    if (!err.message.includes("BUSYGROUP")) throw err;
  });
}

export async function reset(target: RedisTarget): Promise<void> {
  await redis(target, "DEL", STREAM, COMPLETIONS, RUN_LOG);
  await ensureGroup(target);
}

export async function enqueueRun(target: RedisTarget, runId: string, durationMs: number): Promise<void> {
  await redis(target, "XADD", STREAM, "*", "run_id", runId, "duration_ms", String(durationMs),
    "enqueued_ms", String(Date.now()));
}

export interface SteadyLoad {
  seconds: number;
  /** Runs per second. */
  rate: number;
  minMs: number;
  maxMs: number;
  prefix?: string;
  /** After `seconds`, keeps the same rate until this aborts. A load that must outlast a rollout step (the canary
   *  gate counts new sessions on the canary) ends with that step, not on a clock that a slow machine outruns. */
  until?: AbortSignal;
}

/** Enqueues `rate` runs a second for `seconds` (and on until `until` aborts), each lasting a random time in
 *  [minMs, maxMs]; returns their ids. */
export async function enqueueSteady(target: RedisTarget, load: SteadyLoad): Promise<string[]> {
  await ensureGroup(target);
  const ids: string[] = [];
  const prefix = load.prefix ?? `load-${Date.now()}`;
  const started = Date.now();
  const total = Math.max(1, Math.round(load.seconds * load.rate));
  for (let n = 0; n < total || (load.until && !load.until.aborted); n++) {
    const due = started + (n * 1000) / load.rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    if (n >= total && load.until?.aborted) break;
    const id = `${prefix}-${n + 1}`;
    await enqueueRun(target, id, load.minMs + Math.floor(Math.random() * (load.maxMs - load.minMs + 1)));
    ids.push(id);
  }
  return ids;
}

export interface PendingRun {
  run: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

export interface QueueReport {
  enqueued: number;
  completedOnce: number;
  completedMoreThanOnce: number;
  /** Claimed and not acked: in flight now, or lost with a killed worker. */
  pending: number;
  /** Never handed to any consumer (after the group's last-delivered-id). */
  neverClaimed: number;
  /** Delivered, not pending, never completed: should not exist (a deleted consumer loses its pending runs). */
  unaccounted: number;
  /** Completed with ok=false (the v3-failing-runs fault). */
  failed: number;
  byHost: Record<string, number>;
  byVersion: Record<string, number>;
  runs: { completedMoreThanOnce: string[]; pending: PendingRun[]; neverClaimed: string[]; unaccounted: string[] };
}

type Entry = [string, string[]];

const streamIdLess = (a: string, b: string): boolean => {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am < bm || (am === bm && as < bs);
};

function field(fields: string[], name: string): string | undefined {
  const i = fields.findIndex((f, idx) => idx % 2 === 0 && f === name);
  return i >= 0 ? fields[i + 1] : undefined;
}

function tally(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

export async function check(target: RedisTarget): Promise<QueueReport> {
  await ensureGroup(target);
  const entries = ((await redis(target, "XRANGE", STREAM, "-", "+")) ?? []) as Entry[];
  const completions = ((await redis(target, "HGETALL", COMPLETIONS)) ?? {}) as Record<string, string>;
  const pendingRaw = ((await redis(target, "XPENDING", STREAM, GROUP, "-", "+", "1000000")) ?? []) as [
    string, string, number, number,
  ][];
  const groups = (await redis(target, "XINFO", "GROUPS", STREAM)) as { name: string; "last-delivered-id": string }[];
  const lastDelivered = groups.find((g) => g.name === GROUP)?.["last-delivered-id"] ?? "0-0";
  const log = ((await redis(target, "LRANGE", RUN_LOG, "0", "-1")) ?? []) as string[];

  const runOf = new Map(entries.map(([id, fields]) => [id, field(fields, "run_id") ?? id]));
  const pending = pendingRaw.map(([id, consumer, idleMs, deliveries]) => ({
    run: runOf.get(id) ?? id, consumer, idleMs, deliveries,
  }));
  const pendingIds = new Set(pendingRaw.map(([id]) => id));
  const report: QueueReport = {
    enqueued: entries.length, completedOnce: 0, completedMoreThanOnce: 0, pending: pending.length,
    neverClaimed: 0, unaccounted: 0, failed: 0, byHost: {}, byVersion: {},
    runs: { completedMoreThanOnce: [], pending, neverClaimed: [], unaccounted: [] },
  };
  for (const [id] of entries) {
    const run = runOf.get(id) ?? id;
    const times = Number(completions[run] ?? 0);
    if (times === 1) report.completedOnce++;
    else if (times > 1) report.runs.completedMoreThanOnce.push(run);
    else if (streamIdLess(lastDelivered, id)) report.runs.neverClaimed.push(run);
    else if (!pendingIds.has(id)) report.runs.unaccounted.push(run);
  }
  report.completedMoreThanOnce = report.runs.completedMoreThanOnce.length;
  report.neverClaimed = report.runs.neverClaimed.length;
  report.unaccounted = report.runs.unaccounted.length;
  for (const line of log) {
    const rec = JSON.parse(line) as { host: string; version: string; ok: boolean };
    tally(report.byHost, rec.host);
    tally(report.byVersion, rec.version);
    if (!rec.ok) report.failed++;
  }
  return report;
}

export const isClean = (r: QueueReport): boolean =>
  r.completedOnce === r.enqueued && r.pending === 0 && r.neverClaimed === 0 && r.completedMoreThanOnce === 0;

/** Checks until every run completed exactly once or `seconds` pass; returns the last report either way. */
export async function waitForClean(target: RedisTarget, seconds: number): Promise<QueueReport> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const report = await check(target);
    if (isClean(report) || Date.now() >= deadline) return report;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function option(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: must be a non-negative number (got ${argv[i + 1]})`);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const target = labRedis();
  switch (argv[0]) {
    case "enqueue": {
      const ids = await enqueueSteady(target, {
        seconds: option(argv, "--seconds", 60), rate: option(argv, "--rate", 1),
        minMs: option(argv, "--min-ms", 1000), maxMs: option(argv, "--max-ms", 10_000),
      });
      console.log(JSON.stringify({ enqueued: ids.length, first: ids[0], last: ids.at(-1) }));
      return 0;
    }
    case "check": {
      const report = await waitForClean(target, option(argv, "--wait", 0));
      console.log(JSON.stringify(report, null, 2));
      return argv.includes("--expect-clean") && !isClean(report) ? 1 : 0;
    }
    case "reset":
      await reset(target);
      return 0;
    default:
      console.error("usage: load.ts enqueue [--seconds S] [--rate R] [--min-ms A] [--max-ms B] | check [--wait S] [--expect-clean] | reset");
      return 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
