// A fleet of 12 on the real engine: a percentage wave the cap binds, judged from what the hosts' own journals saw
// (not from the engine's events): waves in the plan's order and never overlapping, never more hosts out of service
// than rollout.maxUnavailable, and every run under load completed exactly once. Needs root: `npm run test:lab`.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RolloutPlan } from "../../plan/planner";
import { LAB_DIR, LabHosts, hostsSh } from "../../lab/hosts";
import { HostRollout, hostRollout, peakOutOfService } from "../../lab/journal";
import { RedisTarget, enqueueSteady } from "../../lab/load";
import { expectNoRunLost, freshLab } from "./lab-fixture";
import { ApplyResult, LabStack, apply, versionOn } from "../../lab/rehearsal";
import { labPlan } from "../../lab/up-config";

const COUNT = 12;
const FLEET = Array.from({ length: COUNT }, (_, i) => `lab-worker-${i + 1}`);
const CAP = 3;
const MIN_HEALTHY_S = 3;
// Enough runs for the canary gate (3 sessions on the canary among 12 hosts) well inside its deadline, short enough
// that a drain is over in seconds.
const LOAD = { rate: 2, minMs: 1000, maxMs: 4000 };

let lab: LabHosts;
let redis: RedisTarget;
let stack: LabStack;
let plan: RolloutPlan;

/** Runs through `apply`, from before the rollout starts until it ended, so the canary gate always has runs. */
async function underLoad(prefix: string, run: () => Promise<ApplyResult>): Promise<{ result: ApplyResult; enqueued: string[] }> {
  const done = new AbortController();
  const traffic = enqueueSteady(redis, { seconds: 5, ...LOAD, prefix, until: done.signal });
  const result = await run();
  done.abort();
  return { result, enqueued: await traffic };
}

beforeAll(async () => {
  ({ lab, redis } = await freshLab(COUNT));
  stack = new LabStack().workers(FLEET).release("v1").set("rollout", {
    waves: [2, "50%"], maxUnavailable: CAP, minHealthyTime: `${MIN_HEALTHY_S}s`, canaryRuns: 3, canaryDeadline: "90s",
  });
  plan = labPlan(stack.file, LAB_DIR);
  const provision = await underLoad("provision", () => apply(stack));
  if (provision.result.code !== 0) throw new Error(`provisioning v1 failed:\n${provision.result.output}`);
}, 1_200_000);

afterAll(async () => {
  await hostsSh(["down"]);
});

describe("a 12-host rollout whose percentage wave the cap binds", () => {
  let rollouts: HostRollout[];
  let enqueued: string[];

  test("the plan caps the 50% wave (6 hosts) at maxUnavailable: canary, 2, then waves of 3", () => {
    expect(plan.waves.map((w) => w.hosts.length)).toEqual([1, 2, 3, 3, 3]);
    expect(plan.warnings).toContainEqual(expect.stringMatching(/rollout\.waves\[1\] \(50%\) is capped at 3/));
  });

  test("v1 → v2 under load succeeds and every host runs v2", async () => {
    const since = Date.now() / 1000 - 1;
    const run = await underLoad("rollout", () => apply(stack.release("v2")));
    expect(run.result.code, run.result.output).toBe(0);
    enqueued = run.enqueued;
    for (const host of FLEET) expect(await versionOn(lab, host)).toBe("v2");
    rollouts = await Promise.all(FLEET.map((host) => hostRollout(lab, host, since)));
    for (const r of rollouts) {
      expect([r.drainStart, r.workerStarted].every(Number.isFinite), `${r.host}: ${JSON.stringify(r)}`).toBe(true);
    }
  }, 900_000);

  test("the hosts went out of service wave by wave, in the plan's order, never overlapping", () => {
    const byHost = new Map(rollouts.map((r) => [r.host, r]));
    const waves = plan.waves.map((w) => w.hosts.map((h) => byHost.get(h)!));
    for (let k = 1; k < waves.length; k++) {
      const previousBack = Math.max(...waves[k - 1].map((r) => r.workerStarted));
      const firstOut = Math.min(...waves[k].map((r) => r.drainStart));
      // The next wave waits for every verify of this one, and verify keeps the worker under watch for
      // minHealthyTime after it started: the gap is at least that (journal times, one clock).
      expect(firstOut - previousBack, `wave ${k} started ${(firstOut - previousBack).toFixed(2)}s after wave ${k - 1} was back`)
        .toBeGreaterThanOrEqual(MIN_HEALTHY_S);
    }
  });

  test(`never more than ${CAP} hosts out of service at once`, () => {
    expect(peakOutOfService(rollouts)).toBeLessThanOrEqual(CAP);
  });

  test("no run was lost or run twice", async () => {
    expect(enqueued.length).toBeGreaterThan(0);
    await expectNoRunLost(redis, 120);
  });
});
