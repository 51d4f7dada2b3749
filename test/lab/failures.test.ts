// What goes wrong in a rollout, on the real engine: `pulumi` killed mid-wave, a host that fails while its wave-mate
// is mid-chain (--continue-on-error), and runs that outlive the drain deadline. Scenarios run in order on one lab
// of 4 hosts, provisioned on v1. Needs root (nspawn, netns): `npm run test:lab`.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LabHosts, hostsSh } from "../../lab/hosts";
import { RedisTarget, enqueueRun } from "../../lab/load";
import { expectNoRunLost as expectNoRunLostIn, freshLab, steadyLoad } from "./lab-fixture";
import { LabStack, apply, commandsByHost, onHost, unitStates, versionOn } from "../../lab/rehearsal";

const FLEET = ["lab-worker-1", "lab-worker-2", "lab-worker-3", "lab-worker-4"];
let lab: LabHosts;
let redis: RedisTarget;
let stack: LabStack;

const load = (seconds: number, rate: number, minMs?: number, maxMs?: number) => steadyLoad(redis, seconds, rate, minMs, maxMs);
const expectNoRunLost = (seconds?: number) => expectNoRunLostIn(redis, seconds);

beforeAll(async () => {
  ({ lab, redis } = await freshLab(FLEET.length));
  stack = new LabStack().workers(FLEET).release("v1").set("rollout", { minHealthyTime: "3s", canaryDeadline: "60s" });
  const traffic = load(25, 1, 1000, 3000); // the canary gate needs runs to judge
  const provision = await apply(stack);
  await traffic.stop();
  if (provision.code !== 0) throw new Error(`provisioning v1 failed:\n${provision.output}`);
}, 900_000);

afterAll(async () => {
  await hostsSh(["down"]);
});

describe("an interrupted rollout", () => {
  test("pulumi killed mid-wave: the stack stays locked until `pulumi cancel`, then `up` converges with no run lost", async () => {
    const traffic = load(60, 0.8);
    stack.release("v2");
    const killed = await apply(stack, { killWhen: /create-replacement\s+lab-worker-2-deploy/ });
    expect(killed.code).toBe(137);
    // What a killed CI job leaves on a file backend (pkg/backend/diy/lock.go): the lock of the dead process.
    const locked = await apply(stack);
    expect(locked.code).not.toBe(0);
    expect(locked.output).toMatch(/currently locked by 1 lock/);
    expect(locked.executed).toEqual([]);
    expect((await apply(stack, { flags: ["--cancel"] })).code).toBe(0);
    // The interrupted steps are pending operations: the engine warns and runs them again (the steps are idempotent).
    const rerun = await apply(stack);
    await traffic.stop();
    expect(rerun.code, rerun.output).toBe(0);
    // The canary finished before the kill: the rerun does not touch it again.
    expect(commandsByHost(rerun.executed)["lab-worker-1"]).toBeUndefined();
    for (const host of FLEET) expect(await versionOn(lab, host)).toBe("v2");
    await expectNoRunLost();
  });
});


describe("a host that fails while its wave-mate is mid-chain (pulumi up --continue-on-error)", () => {
  // Waves [2, 1]: canary lab-worker-1, then [lab-worker-2, lab-worker-3], then [lab-worker-4]. lab-worker-3's
  // executor cannot restart (a fault drop-in), so its chain fails after its drain, stop and deploy.
  let result: Awaited<ReturnType<typeof apply>>;

  beforeAll(async () => {
    // A runtime drop-in (it outranks the unit file in /etc, which a mask cannot): every executor start fails.
    await onHost(lab, "lab-worker-3", "mkdir -p /run/systemd/system/zombied-executor.service.d && printf '[Service]\\nExecStartPre=/bin/false\\n' > /run/systemd/system/zombied-executor.service.d/lab-fault.conf && systemctl daemon-reload");
    stack.set("rollout", { waves: [2, 1] });
    const traffic = load(30, 0.8, 1000, 4000);
    result = await apply(stack.release("v1"));
    await traffic.stop();
  });

  test("the failed host's wave-mate finishes its whole chain: no host is left drained because another failed", async () => {
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/FAILED\s+lab-worker-3-restart-executor/);
    expect(commandsByHost(result.executed)["lab-worker-2"]).toEqual(expect.arrayContaining(["verify"]));
    expect(await versionOn(lab, "lab-worker-2")).toBe("v1");
    expect((await unitStates(lab, "lab-worker-2"))["zombied-worker.active"]).toBe("active");
  });

  test("the next wave never starts: it depends on every gate of the wave before", async () => {
    expect(commandsByHost(result.executed)["lab-worker-4"]).toBeUndefined();
    expect(await versionOn(lab, "lab-worker-4")).toBe("v2");
    expect((await unitStates(lab, "lab-worker-4"))["zombied-worker.active"]).toBe("active");
  });

  test("once the host is fixed, `up` resumes where its chain stopped and rolls the last wave, with no run lost", async () => {
    await onHost(lab, "lab-worker-3", "rm -r /run/systemd/system/zombied-executor.service.d && systemctl daemon-reload");
    const traffic = load(20, 0.8, 1000, 3000);
    const resumed = await apply(stack);
    await traffic.stop();
    expect(resumed.code, resumed.output).toBe(0);
    expect(commandsByHost(resumed.executed)["lab-worker-3"]).toEqual(["restart-executor", "start-worker", "verify"]);
    expect(commandsByHost(resumed.executed)["lab-worker-4"]).toContain("drain");
    for (const host of FLEET) expect(await versionOn(lab, host)).toBe("v1");
    stack.set("rollout", { waves: [1, 2] });
    await expectNoRunLost();
  });
});


describe("a run that outlives the drain deadline", () => {
  // A 6 s drain deadline and RUN_TIMEOUT_MS lowered to match (config refuses a deadline below it, default 300 s
  // included); runs take 15 s: the workers being drained still run with the 30 s RUN_TIMEOUT_MS they started with.
  const envShortRunTimeout = { GITHUB_APP_ID: "1029384", WORKER_CONCURRENCY: "2", LOG_LEVEL: "info", RUN_TIMEOUT_MS: "6000" };
  // Eight runs for the eight worker threads (2 per host): each thread takes one, so every serving host has two in
  // flight. Queued when the engine reaches the step named, not before: its start-up takes 10-30 s here.
  const longRuns = (prefix: string, ms: number, count = 8) => async () => {
    for (let i = 0; i < count; i++) await enqueueRun(redis, `${prefix}-${i}`, ms);
  };

  test("onDrainDeadline: fail halts at the canary; the canary still finishes its runs, then stays drained", async () => {
    stack.put("env", envShortRunTimeout).set("rollout", { drainDeadline: "6s", onDrainDeadline: "fail" });
    const result = await apply(stack, { when: { pattern: /update\s+lab-worker-1-env/, run: longRuns("long-fail", 15_000) } });
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/step=drain host=lab-worker-1 status=fail .*drain=deadline .*in_flight=[1-9]/);
    // Other hosts only had their decommission's stored delete updated to the new drain contract (a no-op echo).
    const touched = Object.entries(commandsByHost(result.executed)).filter(([, steps]) => steps.some((s) => s !== "decommission"));
    expect(touched.map(([host]) => host)).toEqual(["lab-worker-1"]);
    // What happened to those runs: the worker kept draining past the deadline and completed them; it then exited
    // and, drained, was not respawned. The rest of the fleet kept serving.
    await expectNoRunLost(40);
    expect((await unitStates(lab, "lab-worker-1"))["zombied-worker.active"]).toBe("inactive");
    for (const host of FLEET.slice(1)) expect((await unitStates(lab, host))["zombied-worker.active"]).toBe("active");
  });

  test("onDrainDeadline: proceed goes on after the deadline, and the stop still lets the runs finish", async () => {
    stack.set("rollout", { onDrainDeadline: "proceed" });
    // lab-worker-2 goes first here, so its drain follows `up`'s start by seconds: its two 28 s runs (queued when
    // `up` starts, one per thread of the serving hosts; lab-worker-1 stays drained from the test above) are still
    // in flight at its 6 s deadline and end inside the unit's stop timeout (deadline + 30 s). 28 s, because the
    // workers still run with the RUN_TIMEOUT_MS (30 s) they were started with.
    stack.set("rollout", { canary: "lab-worker-2" });
    const traffic = load(30, 1, 1000, 2000);
    const result = await apply(stack, { when: { pattern: /on the real engine/, run: longRuns("long-proceed", 28_000, 6) } });
    await traffic.stop();
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/step=drain host=lab-worker-2 status=ok .*drain=deadline/);
    // The unit's TimeoutStopSec (drain deadline + 30 s) covered what was left of the runs: the stop waited.
    await expectNoRunLost(60);
    for (const host of FLEET) expect((await unitStates(lab, host))["zombied-worker.active"]).toBe("active");
    stack.set("rollout", { canary: "lab-worker-1" });
  });
});
