// `npm run bench:lab`: a rollout of 6 lab hosts with waves [1, 2, "50%"] under a steady load, measured.
// Prints figures; asserts nothing. Needs root (it boots its own lab, and tears it down).
//   wall        the `apply` that rolls v1 → v2, start to end
//   lower bound what the workload alone forces, from the hosts' own journals: per wave, the longest
//               (drain signal → "drain complete") + (executor stopping → worker started) + minHealthyTime,
//               plus the canary gate's wait for its runs
//   overhead    (wall − lower bound) / hosts
//   latency     host's "drain complete" → the engine starting that host's stop step
//   ssh         connections each host's sshd accepted during the rollout
import * as fs from "node:fs";
import * as path from "node:path";
import { hostsSh, LAB_DIR, readLabHosts } from "../lab/hosts";
import { enqueueSteady, reset, waitForClean } from "../lab/load";
import { LabStack, apply, onHost } from "../lab/rehearsal";

const HOSTS = Array.from({ length: 6 }, (_, i) => `lab-worker-${i + 1}`);
const WAVES = [["lab-worker-1"], ["lab-worker-2"], ["lab-worker-3", "lab-worker-4"], ["lab-worker-5", "lab-worker-6"]];
const MIN_HEALTHY_S = 3;

/** Epoch seconds of journal lines matching `pattern` since `since` (epoch s), from `journalctl -o short-unix`. */
async function journalTimes(lab: ReturnType<typeof readLabHosts>, host: string, units: string, pattern: string, since: number): Promise<number[]> {
  const out = await onHost(lab, host, `journalctl ${units} -o short-unix --no-pager --since @${Math.floor(since)} | grep -E '${pattern}' || true`);
  return out.split("\n").filter(Boolean).map((line) => Number(line.split(" ")[0]));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s: number) => `${s.toFixed(2)} s`;

async function main(): Promise<void> {
  const up = await hostsSh(["up", String(HOSTS.length)]);
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  try {
    const lab = readLabHosts();
    const redis = { host: lab.redis.host, port: lab.redis.port };
    await reset(redis);
    for (const dir of ["pulumi-state", "pulumi"]) fs.rmSync(path.join(LAB_DIR, dir), { recursive: true, force: true });
    const stack = new LabStack().workers(HOSTS).release("v1")
      .set("rollout", { waves: [1, 2, "50%"], maxUnavailable: 3, minHealthyTime: `${MIN_HEALTHY_S}s`, canaryDeadline: "60s" });
    const warmup = enqueueSteady(redis, { seconds: 20, rate: 1, minMs: 1000, maxMs: 3000, prefix: "warmup" });
    if ((await apply(stack)).code !== 0) throw new Error("provisioning v1 failed");
    await warmup;

    const traffic = enqueueSteady(redis, { seconds: 50, rate: 1, minMs: 1000, maxMs: 10_000, prefix: "bench" });
    await new Promise((r) => setTimeout(r, 5000)); // every host busy before the rollout starts
    const since = Date.now() / 1000 - 1;
    const started = Date.now();
    const result = await apply(stack.release("v2"));
    const wall = (Date.now() - started) / 1000;
    if (result.code !== 0) throw new Error(`rollout failed:\n${result.output}`);
    await traffic;
    const queue = await waitForClean(redis, 90);

    const perHost = new Map<string, { drain: number; restart: number; drainDone: number }>();
    for (const host of HOSTS) {
      const [drainStart] = await journalTimes(lab, host, "-u zombied-worker", "drain start", since);
      const [drainDone] = await journalTimes(lab, host, "-u zombied-worker", "drain complete", since);
      const [restartFrom] = await journalTimes(lab, host, "-u zombied-executor", "Stopping zombied-executor", since);
      const [restartTo] = await journalTimes(lab, host, "-u zombied-worker", "Started zombied-worker", since);
      perHost.set(host, { drain: drainDone - drainStart, restart: restartTo - restartFrom, drainDone });
    }
    const canaryStarted = (await journalTimes(lab, "lab-worker-1", "-u zombied-worker", "Started zombied-worker", since))[0];
    const canaryRuns = await journalTimes(lab, "lab-worker-1", "-u zombied-worker", "run.completed", canaryStarted);
    const gateWait = Math.max(0, (canaryRuns[2] ?? canaryStarted) - canaryStarted - MIN_HEALTHY_S);
    const lowerBound = WAVES.reduce((sum, wave) => sum + Math.max(...wave.map((h) => {
      const m = perHost.get(h)!;
      return m.drain + m.restart + MIN_HEALTHY_S;
    })), 0) + gateWait;

    const latencies = HOSTS.map((h) => {
      const stop = result.executed.find((e) => e.name === `${h}-stop`)!;
      return stop.startedAt / 1000 - perHost.get(h)!.drainDone;
    });
    const ssh = await Promise.all(HOSTS.map(async (h) => (await journalTimes(lab, h, "-u ssh", "Accepted publickey", since)).length));

    console.log(`rollout of ${HOSTS.length} hosts, waves [1, 2, "50%"] (${WAVES.map((w) => w.length).join(" → ")}), minHealthyTime ${MIN_HEALTHY_S}s, under load`);
    console.log(`  wall time                         ${fmt(wall)}`);
    console.log(`  lower bound from the workload     ${fmt(lowerBound)}  (canary gate wait ${fmt(gateWait)})`);
    console.log(`  orchestration overhead per host   ${fmt((wall - lowerBound) / HOSTS.length)}`);
    console.log(`  drain complete → stop started     median ${fmt(median(latencies))}, max ${fmt(Math.max(...latencies))}`);
    console.log(`  ssh connections per host          ${ssh.join(", ")}  (${result.executed.length} commands)`);
    for (const h of HOSTS) {
      const m = perHost.get(h)!;
      console.log(`    ${h}  drain ${fmt(m.drain)}  restart ${fmt(m.restart)}`);
    }
    console.log(`  runs: ${queue.enqueued} enqueued, ${queue.completedOnce} completed once, ${queue.pending} pending, ${queue.completedMoreThanOnce} twice`);
  } finally {
    await hostsSh(["down"]);
  }
}

main().catch((err) => {
  console.error(`bench:lab: ${(err as Error).message}`);
  process.exit(1);
});
