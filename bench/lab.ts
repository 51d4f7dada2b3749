// `npm run bench:lab [-- --hosts N] [--waves '[1,2,"50%"]'] [--max-unavailable 3]`: a rollout v1 → v2 of N lab
// hosts on the real Pulumi engine, under load, measured. Prints figures; asserts nothing. Needs root and
// `npm run pulumi:install` (it boots its own lab, and tears it down).
//   waves       from the planner (plan/planner.ts), as the program wires them
//   wall        the `pulumi up` that rolls v1 → v2, start to end
//   lower bound what the workload alone forces, from the hosts' own journals: per wave, the longest
//               (drain signal → "drain complete") + (executor stopping → worker started) + minHealthyTime,
//               plus the canary gate's wait for its runs
//   overhead    (wall − lower bound) / hosts
//   latency     host's "drain complete" → the stop step's SSH session accepted by that host (journal to journal)
//   ssh         connections each host's sshd accepted during the rollout
//   memory      peak RSS of the pulumi CLI, its plugins and the driver, sampled every second
//   where the overhead goes, from the engine's events as the driver saw them: start-up (the `up` started → its
//               first command started: CLI, stack, config, program evaluation, plugin start) and, within each
//               host's chain, the gap between one step's end and the next one's start (engine step + new SSH
//               connection of the next command)
//   status      `npm run fleet -- status` run once the first host drains: its wall time and hosts that answered
//   rollback    then back to v1 as a rollback (rollout.rollback: v1): its wall time against the rollout's
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostsSh, LAB_DIR, readLabHosts } from "../lab/hosts";
import { hostRollout, journalTimes } from "../lab/journal";
import { enqueueSteady, reset, waitForClean } from "../lab/load";
import { LabStack, apply, fleetStatus } from "../lab/rehearsal";
import { labPlan } from "../lab/up-config";
import type { Executed } from "../lab/up-progress";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const COUNT = Number(option("--hosts", "6"));
const WAVES = JSON.parse(option("--waves", '[1, 2, "50%"]')) as (number | string)[];
const MAX_UNAVAILABLE = /^\d+$/.test(option("--max-unavailable", "3")) ? Number(option("--max-unavailable", "3")) : option("--max-unavailable", "3");
const HOSTS = Array.from({ length: COUNT }, (_, i) => `lab-worker-${i + 1}`);
const MIN_HEALTHY_S = 3;
const CANARY_RUNS = 3;
const CANARY_DEADLINE_S = 90;
const RUN_MS = { min: 1000, max: 10_000 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s: number) => `${s.toFixed(2)} s`;

/** Sum of RSS (MiB) of `pid` and its descendants, from /proc; peak kept by the caller. */
function treeRssMiB(pid: number): number {
  const out = spawnSync("ps", ["-e", "-o", "pid=,ppid=,rss="], { encoding: "utf8" }).stdout;
  const rows = out.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
  const members = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, pp] of rows) if (members.has(pp) && !members.has(p)) { members.add(p); grew = true; }
  }
  return rows.filter(([p]) => members.has(p)).reduce((sum, [, , rss]) => sum + rss, 0) / 1024;
}

/**
 * Runs per second that keep the canary gate well inside its deadline: runs spread over every host's idle
 * threads, so the canary sees about 1/N of them; aim for its `canaryRuns` in a third of the deadline.
 */
const rateForGate = () => Math.max(1, (CANARY_RUNS * COUNT) / (CANARY_DEADLINE_S / 3));

/** Start-up before the first command, and the gaps between consecutive steps of one host's chain (seconds). */
function engineTimes(executed: Executed[], startedMs: number): { startup: number; gaps: number[] } {
  const startup = (Math.min(...executed.map((e) => e.startedAt)) - startedMs) / 1000;
  const gaps = HOSTS.flatMap((host) => {
    const chain = executed.filter((e) => e.name.startsWith(`${host}-`)).sort((a, b) => a.startedAt - b.startedAt);
    return chain.slice(1).map((e, i) => (e.startedAt - chain[i].endedAt) / 1000);
  });
  return { startup, gaps };
}

/** Median duration of each kind of step (the name after `<host>-`), in chain order of first appearance. */
function stepMedians(executed: Executed[]): [string, number][] {
  const byStep = new Map<string, number[]>();
  for (const e of [...executed].sort((a, b) => a.startedAt - b.startedAt)) {
    const host = HOSTS.find((h) => e.name.startsWith(`${h}-`));
    if (host) byStep.set(e.name.slice(host.length + 1), [...(byStep.get(e.name.slice(host.length + 1)) ?? []), e.seconds]);
  }
  return [...byStep].map(([step, secs]) => [step, median(secs)]);
}

/**
 * Back to v1, which every host still holds, as a rollback (rollout.rollback: v1): no canary gate, waves as large as
 * maxUnavailable allows, no download; every host still drained. Printed against the rollout it undoes.
 */
async function rollBack(stack: LabStack, rolloutWall: number, under: (prefix: string) => Promise<{ stop: () => Promise<string[]> }>): Promise<void> {
  const lab = readLabHosts();
  stack.release("v1").set("rollout", { rollback: "v1" });
  const plan = labPlan(stack.file, LAB_DIR);
  const traffic = await under("rollback");
  const started = Date.now();
  const result = await apply(stack);
  const wall = (Date.now() - started) / 1000;
  await traffic.stop();
  if (result.code !== 0) throw new Error(`rollback failed:\n${result.output}`);
  const queue = await waitForClean({ host: lab.redis.host, port: lab.redis.port }, 120);
  const skipped = (result.output.match(/step=deploy host=\S+ status=ok .*download=skipped/g) ?? []).length;
  console.log(`rollback v2 → v1 (rollout.rollback: v1): waves ${plan.waves.map((w) => w.hosts.length).join(" → ")}, no canary gate`);
  console.log(`  wall time                         ${fmt(wall)} = ${(wall / rolloutWall).toFixed(2)} × the rollout's ${fmt(rolloutWall)}`);
  console.log(`  downloads skipped                 ${skipped} of ${COUNT} hosts`);
  console.log(`  runs: ${queue.enqueued} in all: ${queue.completedOnce} completed once, ${queue.completedMoreThanOnce} twice, ${queue.pending} pending`);
}

async function main(): Promise<void> {
  const up = await hostsSh(["up", String(COUNT)]);
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  try {
    const lab = readLabHosts();
    const redis = { host: lab.redis.host, port: lab.redis.port };
    await reset(redis);
    for (const dir of ["pulumi-state", "pulumi"]) fs.rmSync(path.join(LAB_DIR, dir), { recursive: true, force: true });
    const stack = new LabStack().workers(HOSTS).release("v1").set("rollout", {
      waves: WAVES, maxUnavailable: MAX_UNAVAILABLE, minHealthyTime: `${MIN_HEALTHY_S}s`, canaryRuns: CANARY_RUNS, canaryDeadline: `${CANARY_DEADLINE_S}s`,
    });
    const plan = labPlan(stack.file, LAB_DIR);
    const canary = plan.canary ?? HOSTS[0];
    const waves = plan.waves.map((w) => w.hosts); // the canary's wave first
    const rate = rateForGate();
    const under = async (prefix: string) => {
      const done = new AbortController();
      const traffic = enqueueSteady(redis, { seconds: 10, rate, minMs: RUN_MS.min, maxMs: RUN_MS.max, prefix, until: done.signal });
      return { stop: () => { done.abort(); return traffic; } };
    };
    const warmup = await under("warmup");
    const provision = await apply(stack);
    await warmup.stop();
    if (provision.code !== 0) throw new Error(`provisioning v1 failed:\n${provision.output}`);

    const traffic = await under("bench");
    await new Promise((r) => setTimeout(r, 5000)); // every host busy before the rollout starts
    const since = Date.now() / 1000 - 1;
    const started = Date.now();
    let peakMiB = 0;
    const sampler = setInterval(() => { peakMiB = Math.max(peakMiB, treeRssMiB(process.pid)); }, 1000);
    // An operator asks for the fleet's state once the first host drains (npm run fleet -- status, 5 s bound per host).
    let during: ReturnType<typeof fleetStatus> | undefined;
    const result = await apply(stack.release("v2"), { when: { pattern: /create-replacement\s+\S+-drain/, run: () => { during = fleetStatus(); } } });
    clearInterval(sampler);
    const ended = Date.now() / 1000;
    const wall = ended - started / 1000;
    const enqueued = await traffic.stop();
    if (result.code !== 0) throw new Error(`rollout failed:\n${result.output}`);
    const queue = await waitForClean(redis, 120);

    const perHost = new Map<string, { drain: number; restart: number; drainDone: number; stopAt: number; ssh: number }>();
    for (const host of HOSTS) {
      const r = await hostRollout(lab, host, since);
      // The drain step's session is the first of the rollout; the stop step's is the next one after the drain ended.
      const stopAt = r.sessions.find((t) => t >= r.drainDone) ?? NaN;
      // Only the rollout's sessions: this benchmark's own queries of the journal come after it.
      perHost.set(host, { drain: r.drainDone - r.drainStart, restart: r.workerStarted - r.executorStopping, drainDone: r.drainDone, stopAt, ssh: r.sessions.filter((t) => t <= ended).length });
    }
    const canaryStarted = (await journalTimes(lab, canary, "-u zombied-worker", "Started zombied-worker", since))[0];
    const canaryRuns = await journalTimes(lab, canary, "-u zombied-worker", "run.completed", canaryStarted);
    const gateWait = Math.max(0, (canaryRuns[CANARY_RUNS - 1] ?? canaryStarted) - canaryStarted - MIN_HEALTHY_S);
    const lowerBound = waves.reduce((sum, wave) => sum + Math.max(...wave.map((h) => {
      const m = perHost.get(h)!;
      return m.drain + m.restart + MIN_HEALTHY_S;
    })), 0) + gateWait;
    const latencies = HOSTS.map((h) => perHost.get(h)!.stopAt - perHost.get(h)!.drainDone).filter(Number.isFinite);

    console.log(`rollout v1 → v2 of ${COUNT} hosts on the real engine, waves ${JSON.stringify(WAVES)} cap ${MAX_UNAVAILABLE} (${waves.map((w) => w.length).join(" → ")}), minHealthyTime ${MIN_HEALTHY_S}s, load ${rate.toFixed(2)} runs/s of ${RUN_MS.min / 1000}-${RUN_MS.max / 1000} s`);
    console.log(`  wall time                         ${fmt(wall)}`);
    console.log(`  lower bound from the workload     ${fmt(lowerBound)}  (canary gate wait ${fmt(gateWait)})`);
    console.log(`  orchestration overhead per host   ${fmt((wall - lowerBound) / COUNT)}`);
    const { startup, gaps } = engineTimes(result.executed, started);
    console.log(`  where it goes: start-up ${fmt(startup)}; step → next step in a chain median ${fmt(median(gaps))}, max ${fmt(Math.max(...gaps))} (${gaps.length} gaps)`);
    console.log(`  step durations, median over hosts: ${stepMedians(result.executed).map(([step, sec]) => `${step} ${sec.toFixed(2)}`).join(", ")} (s)`);
    console.log(`  drain complete → stop session     median ${fmt(median(latencies))}, max ${fmt(Math.max(...latencies))}`);
    console.log(`  ssh connections per host          ${HOSTS.map((h) => perHost.get(h)!.ssh).join(", ")}  (${result.executed.length} commands)`);
    console.log(`  peak memory (CLI, plugins, driver) ${peakMiB.toFixed(0)} MiB`);
    console.log(`  runs: ${enqueued.length} enqueued in the rollout, ${queue.enqueued} in all: ${queue.completedOnce} completed once, ${queue.completedMoreThanOnce} twice, ${queue.pending} pending`);
    const status = await during;
    if (status) console.log(`  fleet status during it            ${fmt(status.ms / 1000)} wall, ${status.hosts.filter((h) => h.answered).length} of ${COUNT} hosts answered (exit ${status.code})`);
    await rollBack(stack, wall, under);
  } finally {
    await hostsSh(["down"]);
  }
}

main().catch((err) => {
  console.error(`bench:lab: ${(err as Error).message}`);
  process.exit(1);
});
