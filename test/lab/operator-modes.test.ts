// What an operator sees and steers during a rollout, on the real engine: progress lines while a drain waits, a
// line per wave, stopping after the canary until the release is promoted, and a fast rollback to a release the
// hosts still hold. Runs on its own lab of 4 hosts. Needs root: `npm run test:lab`.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LabHosts, hostsSh, setHostLink } from "../../lab/hosts";
import { RedisTarget, enqueueRun, enqueueSteady } from "../../lab/load";
import { expectNoRunLost as expectNoRunLostIn, freshLab } from "./lab-fixture";
import { ApplyOptions, ApplyResult, LabStack, apply, commandsByHost, fleetStatus, versionOn } from "../../lab/rehearsal";

const FLEET = ["lab-worker-1", "lab-worker-2", "lab-worker-3", "lab-worker-4"];
const REST = FLEET.slice(1);
const CHAIN = ["drain", "stop", "deploy", "restart-executor", "start-worker", "verify"];
let lab: LabHosts;
let redis: RedisTarget;
let stack: LabStack;

/** `up` under a steady stream of runs that lasts until it ended (the canary gate needs runs to judge). */
async function applyUnderLoad(options: ApplyOptions = {}): Promise<ApplyResult> {
  const done = new AbortController();
  const traffic = enqueueSteady(redis, { seconds: 5, rate: 1, minMs: 1000, maxMs: 3000, prefix: `run-${Date.now()}`, until: done.signal });
  const result = await apply(stack, options);
  done.abort();
  await traffic;
  return result;
}

const expectNoRunLost = () => expectNoRunLostIn(redis);

beforeAll(async () => {
  ({ lab, redis } = await freshLab(FLEET.length));
  stack = new LabStack().workers(FLEET).release("v1").set("rollout", { minHealthyTime: "3s", canaryDeadline: "60s" });
  const provision = await applyUnderLoad();
  if (provision.code !== 0) throw new Error(`provisioning v1 failed:\n${provision.output}`);
}, 900_000);

afterAll(async () => {
  await hostsSh(["down"]);
});

describe("progress while a step waits", () => {
  test("a drain held up by long runs prints a progress line every 15 s, live, and each wave says it starts", async () => {
    // Eight runs of 24 s for the eight worker threads, queued when `up` starts: the canary's drain waits for its
    // two for about 20 s, inside the 30 s RUN_TIMEOUT_MS the workers run with.
    const fill = async () => { for (let i = 0; i < 8; i++) await enqueueRun(redis, `long-${i}`, 24_000); };
    stack.release("v2");
    const result = await applyUnderLoad({ when: { pattern: /on the real engine/, run: fill } });
    expect(result.code, result.output).toBe(0);
    const lines = result.output.split("\n");
    // The first line comes once 15 s of the drain passed (later on a busy machine, never sooner).
    const progress = lines.findIndex((l) => Number(/waiting\s+drain host=lab-worker-1 waiting for .*, (\d+)s\/60s$/.exec(l)?.[1]) >= 15);
    const drainDone = lines.findIndex((l) => /done\s+lab-worker-1-drain /.test(l));
    expect(progress, result.output).toBeGreaterThanOrEqual(0);
    // Live: the line came while the drain still ran, not with its end.
    expect(progress).toBeLessThan(drainDone);
    expect(result.output).toMatch(/wave 0\/2 starts \(canary, then its gate\), 1 host: lab-worker-1/);
    expect(result.output).toMatch(/wave 2\/2 starts \(v2\), 2 hosts: lab-worker-3 lab-worker-4/);
    for (const host of FLEET) expect(await versionOn(lab, host)).toBe("v2");
    await expectNoRunLost();
  }, 600_000);
});

describe("rollout.promote: manual", () => {
  test("setting it changes nothing on its own: preview shows no change", async () => {
    stack.set("rollout", { promote: "manual" });
    const preview = await apply(stack, { flags: ["--preview", "--expect-no-changes"] });
    expect(preview.code, preview.output).toBe(0);
  });

  test("a new release rolls out the canary and its gate, then stops: the other hosts run nothing", async () => {
    stack.release("v1");
    const result = await applyUnderLoad();
    expect(result.code, result.output).toBe(0);
    expect(commandsByHost(result.executed)).toEqual({ "lab-worker-1": [...CHAIN, "canary-gate"] });
    expect(await versionOn(lab, "lab-worker-1")).toBe("v1");
    for (const host of REST) expect(await versionOn(lab, host), host).toBe("v2");
    expect(result.output).toMatch(/rollout\.promoted/);
    // The waiting hosts' verify kept its outputs: the stack does not claim the new release for them.
    const status = await fleetStatus();
    for (const host of status.hosts) expect(host.recordedRelease, host.name).toBe(host.name === "lab-worker-1" ? "v1" : "v2");
    await expectNoRunLost();
  }, 600_000);

  test("an up before the promotion runs nothing", async () => {
    const again = await apply(stack);
    expect(again.code, again.output).toBe(0);
    expect(again.executed).toEqual([]);
  });

  test("promoting the release rolls out the waves, each host's chain once, and nothing on the canary", async () => {
    stack.set("rollout", { promoted: "v1" });
    const result = await applyUnderLoad();
    expect(result.code, result.output).toBe(0);
    expect(commandsByHost(result.executed)).toEqual(Object.fromEntries(REST.map((h) => [h, CHAIN])));
    for (const host of FLEET) expect(await versionOn(lab, host)).toBe("v1");
    const rerun = await apply(stack);
    expect(rerun.executed).toEqual([]);
    await expectNoRunLost();
  }, 600_000);
});

describe("rollout.rollback", () => {
  test("back to a release the hosts hold: no canary gate, waves as large as the cap, no download, every host drained", async () => {
    stack.release("v2").set("rollout", { rollback: "v2" });
    const result = await applyUnderLoad();
    expect(result.code, result.output).toBe(0);
    const byHost = commandsByHost(result.executed);
    expect(Object.keys(byHost).sort()).toEqual(FLEET);
    for (const host of FLEET) expect(byHost[host], host).toEqual(CHAIN);
    expect(result.output).not.toMatch(/canary-gate/);
    for (const host of FLEET) {
      expect(result.output).toMatch(new RegExp(`step=deploy host=${host} status=ok .*download=skipped`));
      expect(await versionOn(lab, host)).toBe("v2");
    }
    // maxUnavailable 2 of 4: two waves of two, the second after the first verified.
    const drains = result.executed.filter((e) => e.name.endsWith("-drain")).sort((a, b) => a.startedAt - b.startedAt);
    const verifies = result.executed.filter((e) => e.name.endsWith("-verify"));
    const firstWave = drains.slice(0, 2).map((d) => d.name.replace(/-drain$/, ""));
    const firstWaveVerified = Math.max(...verifies.filter((v) => firstWave.some((h) => v.name === `${h}-verify`)).map((v) => v.endedAt));
    for (const d of drains.slice(2)) expect(d.startedAt).toBeGreaterThanOrEqual(firstWaveVerified);
    expect((await apply(stack)).executed).toEqual([]);
    await expectNoRunLost();
  }, 600_000);
});
describe("fleet status with a host off the network", () => {
  test("names the host that did not answer within the bound, reports the others, exits 1; all well once it is back", async () => {
    await setHostLink(lab, "lab-worker-4", "down");
    let status: Awaited<ReturnType<typeof fleetStatus>>;
    try {
      status = await fleetStatus(3);
    } finally {
      await setHostLink(lab, "lab-worker-4", "up");
    }
    expect(status.code, status.output).toBe(1);
    const byName = new Map(status.hosts.map((h) => [h.name, h]));
    expect(byName.get("lab-worker-4")).toMatchObject({ answered: false, error: expect.stringMatching(/timed out|ssh failed/) });
    for (const host of FLEET.slice(0, 3)) expect(byName.get(host)?.answered, host).toBe(true);
    expect(status.output).toMatch(/lab-worker-4/);
    // Back on the network: the next status sees it again (the link needs a moment to carry traffic).
    let back = await fleetStatus();
    for (let i = 0; i < 5 && back.code !== 0; i++) back = await fleetStatus();
    expect(back.code, back.output).toBe(0);
  });
});

