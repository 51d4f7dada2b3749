// The rehearsal fleet: the real program, run by the real Pulumi engine (`pulumi up`, lab/up.ts), rolling real
// releases over real SSH onto real systemd hosts while a real Redis queue feeds them runs. Scenarios run in order on one lab of 5 hosts
// (lab-worker-5 joins the fleet in "scale out"). Needs root (nspawn, netns): `npm run test:lab`.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LAB_DIR, LabHosts, REPO_ROOT, hostsSh } from "../../lab/hosts";
import { RedisTarget, enqueueRun } from "../../lab/load";
import { programCopy } from "../program/fixtures";
import { expectNoRunLost as expectNoRunLostIn, freshLab, steadyLoad } from "./lab-fixture";
import { LabStack, StatusHost, apply, commandsByHost, fleetStatus, onHost, outOfService, unitStates, versionOn } from "../../lab/rehearsal";

const FLEET = ["lab-worker-1", "lab-worker-2", "lab-worker-3", "lab-worker-4"];
let lab: LabHosts;
let redis: RedisTarget;
let stack: LabStack;

const load = (seconds: number, rate: number, minMs?: number, maxMs?: number) => steadyLoad(redis, seconds, rate, minMs, maxMs);

const expectNoRunLost = (seconds?: number) => expectNoRunLostIn(redis, seconds);

beforeAll(async () => {
  ({ lab, redis } = await freshLab(5));
  stack = new LabStack().workers(FLEET).release("v1").set("rollout", { minHealthyTime: "3s", canaryDeadline: "60s" });
});

afterAll(async () => {
  await hostsSh(["down"]);
});

describe("first provision", () => {
  test("brings every host from nothing to v1 with both units enabled and active", async () => {
    const traffic = load(25, 1, 1000, 3000); // the canary gate needs runs to judge
    const result = await apply(stack);
    await traffic.stop();
    expect(result.code, result.output).toBe(0);
    for (const host of FLEET) {
      expect(await versionOn(lab, host)).toBe("v1");
      expect(await unitStates(lab, host)).toEqual({
        "zombied-executor.active": "active", "zombied-executor.enabled": "enabled",
        "zombied-worker.active": "active", "zombied-worker.enabled": "enabled",
      });
    }
    // Eight runs at once for eight idle worker threads (2 per host): each blocked thread takes one.
    for (let i = 0; i < 8; i++) await enqueueRun(redis, `claims-${i}`, 1000);
    const report = await expectNoRunLost();
    expect(Object.keys(report.byHost).sort()).toEqual(FLEET);
  });

  test(".env reaches the worker process byte for byte (quotes, $, spaces, a PEM key as one line)", async () => {
    const secrets = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "lab/secrets.json"), "utf8")) as Record<string, string>;
    const expected: Record<string, string> = {
      ...secrets,
      // zombied wants the PEM on one line with literal \n escapes (facts/zombied.md); host/env.ts does that.
      GITHUB_APP_PRIVATE_KEY: secrets.GITHUB_APP_PRIVATE_KEY.replaceAll("\n", "\\n"),
      REDIS_URL_WORKER: secrets.REDIS_URL_WORKER.replace("redis://lab-redis:6379", lab.redis.url),
      GITHUB_APP_ID: "1029384",
    };
    const journal = await onHost(lab, "lab-worker-2", "journalctl -u zombied-worker -o cat --no-pager | grep '^env '");
    const digests = new Map([...journal.matchAll(/^env (\S+) sha256=([0-9a-f]{64})$/gm)].map((m) => [m[1], m[2]]));
    for (const [key, value] of Object.entries(expected)) {
      expect(digests.get(key), key).toBe(createHash("sha256").update(value).digest("hex"));
    }
  });

  test("an unchanged rerun executes no remote command: preview --expect-no-changes passes, no host sees an SSH session", async () => {
    const preview = await apply(stack, { flags: ["--preview", "--expect-no-changes"] });
    expect(preview.code, preview.output).toBe(0);
    expect(preview.changes).toBe(0);
    const since = Math.floor(Date.now() / 1000);
    const result = await apply(stack);
    expect(result.code, result.output).toBe(0);
    expect(result.executed).toEqual([]);
    for (const host of FLEET) {
      const sessions = await onHost(lab, host, `journalctl -u ssh -o cat --no-pager --since @${since} | grep -c 'Accepted publickey' || true`);
      // Our own onHost call above is the only session since the rerun started.
      expect(Number(sessions), host).toBe(1);
    }
  });

  test("the state was written by the real engine: a file-backend checkpoint whose commands use the command provider at the SDK's version", () => {
    const checkpoint = JSON.parse(fs.readFileSync(path.join(LAB_DIR, "pulumi-state", ".pulumi", "stacks", "zombie-fleet", "lab.json"), "utf8")) as {
      checkpoint: { latest: { manifest: { version: string }; resources: { type: string; urn: string; provider?: string }[] } };
    };
    const { manifest, resources } = checkpoint.checkpoint.latest;
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(manifest.version).toBe(`v${pkg.dependencies["@pulumi/pulumi"]}`);
    const commands = resources.filter((r) => r.type === "command:remote:Command");
    expect(commands.length).toBeGreaterThan(FLEET.length * 6);
    const providers = resources.filter((r) => r.type === "pulumi:providers:command");
    expect(providers.map((p) => (p as unknown as { inputs: { version: string } }).inputs.version)).toEqual([pkg.dependencies["@pulumi/command"]]);
  });
});

describe("a one-line change of a helper the rollout steps use (lib-units.sh)", () => {
  // The rule (issue 14): a changed rollout script or helper re-runs each host's chain from its drain (never a stop
  // without its drain first), ships the new bundle, and re-runs no setup step. Shown here on the real engine.
  const CHAIN = ["scripts", "drain", "stop", "deploy", "restart-executor", "start-worker", "verify"];
  const expected = Object.fromEntries(FLEET.map((h) => [h, h === "lab-worker-1" ? [...CHAIN, "canary-gate"] : CHAIN]));

  test("re-runs every host's chain from its drain, and nothing else; and so does changing it back", async () => {
    const copy = programCopy({ "lib-units.sh": (text) => `${text}\n# a one-line fix\n` });
    try {
      const traffic = load(20, 1, 1000, 3000);
      const changed = await apply(stack, { flags: ["--program-dir", copy.dir] });
      await traffic.stop();
      expect(changed.code, changed.output).toBe(0);
      expect(commandsByHost(changed.executed)).toEqual(expected);
    } finally {
      copy.dispose();
    }
    const traffic = load(20, 1, 1000, 3000);
    const back = await apply(stack);
    await traffic.stop();
    expect(back.code, back.output).toBe(0);
    expect(commandsByHost(back.executed)).toEqual(expected);
    await expectNoRunLost();
  }, 600_000);
});

describe("rollout v1 → v2 under a steady stream of runs", () => {
  let result: Awaited<ReturnType<typeof apply>>;
  let during: ReturnType<typeof fleetStatus> | undefined;

  beforeAll(async () => {
    const traffic = load(45, 0.8);
    // An operator asks for the fleet's state while the second wave drains.
    result = await apply(stack.release("v2"), { when: { pattern: /create-replacement\s+lab-worker-2-drain/, run: () => { during = fleetStatus(); } } });
    await traffic.stop();
  });

  test("fleet status during the rollout: every host answers within its bound, the canary already on v2 and gated", async () => {
    expect(during).toBeDefined();
    const status = await during!;
    console.log(`fleet status during the rollout: ${status.ms} ms wall; per host ${status.hosts.map((h) => `${h.name} ${h.ms} ms`).join(", ")}`);
    expect(status.hosts.map((h) => [h.name, h.answered, h.error]), status.output).toEqual(FLEET.map((h) => [h, true, null]));
    const canary = status.hosts.find((h) => h.name === "lab-worker-1")!;
    expect(canary.report).toMatchObject({ current: "v2", previous: "v1", lastStep: { step: "canary-gate", status: "ok" } });
  });

  test("fleet status after it: exit 0, every host on v2 by its own report and by the stack's outputs", async () => {
    const status = await fleetStatus();
    expect(status.code, status.output).toBe(0);
    expect(status.hosts.map((h) => [h.name, h.report?.current, h.recordedRelease, h.report?.draining])).toEqual(FLEET.map((h) => [h, "v2", "v2", false]));
  });

  test("converges with every host on v2 and no run lost", async () => {
    expect(result.code, result.output).toBe(0);
    for (const host of FLEET) expect(await versionOn(lab, host)).toBe("v2");
    const report = await expectNoRunLost();
    expect(report.byVersion.v2).toBeGreaterThan(0);
  });

  test("the canary gate saw at least canaryRuns runs before any other host was drained", () => {
    const gate = result.executed.find((e) => e.name === "lab-worker-1-canary-gate")!;
    const sessions = Number(/step=canary-gate host=lab-worker-1 status=ok .*?sessions=\+(\d+)/.exec(result.output)?.[1]);
    expect(sessions).toBeGreaterThanOrEqual(3);
    const otherDrains = result.executed.filter((e) => e.name.endsWith("-drain") && !e.name.startsWith("lab-worker-1-"));
    expect(otherDrains).toHaveLength(3);
    for (const drain of otherDrains) expect(drain.startedAt).toBeGreaterThanOrEqual(gate.endedAt);
  });

  test("no two waves overlapped: [canary] → [lab-worker-2] → [lab-worker-3, lab-worker-4]", () => {
    const waves = [["lab-worker-1"], ["lab-worker-2"], ["lab-worker-3", "lab-worker-4"]];
    const spans = waves.map((hosts) => hosts.map((h) => outOfService(result.executed, h)!));
    for (let i = 1; i < spans.length; i++) {
      const previousEnd = Math.max(...spans[i - 1].map((s) => s.to));
      for (const span of spans[i]) expect(span.from).toBeGreaterThanOrEqual(previousEnd);
    }
  });
});

describe("a release that fails doctor", () => {
  let result: Awaited<ReturnType<typeof apply>>;

  beforeAll(async () => {
    const traffic = load(20, 0.8, 1000, 4000);
    result = await apply(stack.release("v3-bad-doctor"));
    await traffic.stop();
  });

  test("halts the rollout at the canary and touches no other host", async () => {
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/FAILED\s+lab-worker-1-verify/);
    expect(Object.keys(commandsByHost(result.executed))).toEqual(["lab-worker-1"]);
    for (const host of FLEET.slice(1)) {
      expect(await versionOn(lab, host)).toBe("v2");
      expect((await unitStates(lab, host))["zombied-worker.active"]).toBe("active");
    }
  });

  test("auto-reverts the canary to v2, serving, says why, and loses no run", async () => {
    expect(result.output).toMatch(/step=verify host=lab-worker-1 status=fail .*reverted_to=v2/);
    expect(await versionOn(lab, "lab-worker-1")).toBe("v2");
    expect((await unitStates(lab, "lab-worker-1"))["zombied-worker.active"]).toBe("active");
    await expectNoRunLost();
  });

  test("fleet status shows the canary on v2, reverted, and the stack's outputs never claim v3-bad-doctor", async () => {
    const status = await fleetStatus();
    const canary = status.hosts.find((h) => h.name === "lab-worker-1") as StatusHost;
    expect(canary.report, status.output).toMatchObject({ current: "v2", lastStep: { step: "verify", status: "fail" } });
    expect(canary.report?.lastStep?.line).toMatch(/reverted_to=v2/);
    expect(canary.recordedRelease).not.toBe("v3-bad-doctor");
    for (const host of status.hosts) expect(host.report?.current, host.name).toBe("v2");
  });

  test("running it again unchanged halts again: the reverted canary is not passed off as the bad release", async () => {
    const again = await apply(stack);
    expect(again.code).not.toBe(0);
    expect(again.output).toMatch(/step=verify host=lab-worker-1 status=fail .*expected=v3-bad-doctor/);
    expect(Object.keys(commandsByHost(again.executed))).toEqual(["lab-worker-1"]);
    expect(await versionOn(lab, "lab-worker-1")).toBe("v2");
  });

  test("going back to v2 in config converges again, touching only the canary", async () => {
    const traffic = load(15, 0.8, 1000, 3000);
    const back = await apply(stack.release("v2"));
    await traffic.stop();
    expect(back.code, back.output).toBe(0);
    expect(Object.keys(commandsByHost(back.executed))).toEqual(["lab-worker-1"]);
    await expectNoRunLost();
  });
});

describe("scaling", () => {
  test("scale out by one: only the new host's commands run, and it claims runs", async () => {
    const traffic = load(20, 1, 1000, 3000);
    const result = await apply(stack.workers([...FLEET, "lab-worker-5"]));
    await traffic.stop();
    expect(result.code, result.output).toBe(0);
    expect(Object.keys(commandsByHost(result.executed))).toEqual(["lab-worker-5"]);
    expect(await versionOn(lab, "lab-worker-5")).toBe("v2");
    // Ten runs at once for the ten idle worker threads (2 per host): the new host's take two of them.
    for (let i = 0; i < 10; i++) await enqueueRun(redis, `scale-out-${i}`, 1000);
    const report = await expectNoRunLost();
    expect(report.byHost["lab-worker-5"]).toBeGreaterThan(0);
  });

  test("scale in by one: the host is drained (its in-flight runs complete) and stopped before it is forgotten", async () => {
    // Fill every worker slot with runs that outlast the engine's way to the decommission but stay inside the
    // workers' RUN_TIMEOUT_MS (30 s): queued once the stack is set up and `up` starts (the line below), not before
    // the driver's own start-up.
    const fillSlots = async () => { for (let i = 0; i < 10; i++) await enqueueRun(redis, `scale-in-${i}`, 25_000); };
    const result = await apply(stack.workers(FLEET), { when: { pattern: /on the real engine/, run: fillSlots } });
    expect(result.code, result.output).toBe(0);
    const decommission = /step=decommission host=lab-worker-5 status=ok .*/.exec(result.output)?.[0];
    expect(decommission).toMatch(/drain=complete/);
    // The stand-in logs how many runs it still had when the drain signal came: the decommission waited for them.
    const drainStart = await onHost(lab, "lab-worker-5", "journalctl -u zombied-worker -o cat --no-pager | grep 'drain start' | tail -1");
    expect(Number(/in_flight=(\d+)/.exec(drainStart)?.[1])).toBeGreaterThan(0);
    expect(await unitStates(lab, "lab-worker-5")).toMatchObject({
      "zombied-worker.active": "inactive", "zombied-worker.enabled": "disabled", "zombied-executor.enabled": "disabled",
    });
    await expectNoRunLost();
  });
});
