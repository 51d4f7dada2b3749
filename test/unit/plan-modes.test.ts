// Rollout modes (plan/rollout-mode.ts): stop after the canary until promotion, and a fast rollback.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FleetConfig } from "../../config/schema";
import { fleetCapacity, planRollout } from "../../plan/planner";
import { buildReport } from "../../plan/report";
import { renderPlan } from "../../plan/render/format";
import { waveStartLine } from "../../plan/rollout-mode";
import { FLEET_SHAPE, Raw, configProblems, fleet, hostWorkers, minimalRaw, placedAndActive, validOrUndefined } from "./fleet-fixture";

const RELEASE = "v1.2.3"; // minimalRaw's release.version
const report = (config: FleetConfig) => buildReport("test", "Pulumi.test.yaml", { config, environments: [] });

describe("rollout.promote: manual", () => {
  const manual = (n: number, extra: Raw = {}) => planRollout(fleet(n, { promote: "manual", waves: [1, 2], maxUnavailable: "50%", ...extra }));

  test("rolls out the canary and its gate; every later wave waits, and the worst case counts the canary wave only", () => {
    const plan = manual(6);
    expect(plan.mode).toBe("canary-only");
    expect(plan.waves.map((w) => w.awaitingPromotion)).toEqual([false, true, true, true]);
    expect(plan.waves[0]).toMatchObject({ hosts: ["w0"], gate: "canary-gate" });
    expect(Object.values(plan.hosts).filter((h) => h.awaitingPromotion).map((h) => h.name)).toEqual(["w1", "w2", "w3", "w4", "w5"]);
    expect(plan.estimate.worstCaseSeconds).toBe(plan.estimate.setupSeconds + plan.waves[0].worstCaseSeconds);
  });

  test("once rollout.promoted names the release, the waves roll out as with promote: auto", () => {
    const promoted = manual(6, { promoted: RELEASE });
    const auto = planRollout(fleet(6, { waves: [1, 2], maxUnavailable: "50%" }));
    expect(promoted.mode).toBe("canary-first");
    expect(promoted.waves).toEqual(auto.waves);
    expect(promoted.estimate).toEqual(auto.estimate);
    expect(promoted.warnings).toEqual(auto.warnings);
  });

  test("a promotion of another release lapses: the next release waits again, and the plan says the key is stale", () => {
    const plan = manual(6, { promoted: "v1.2.2" });
    expect(plan.mode).toBe("canary-only");
    expect(plan.warnings).toContain(`rollout.promoted (v1.2.2) is not release.version (${RELEASE}): it promotes nothing; the waves wait until it names ${RELEASE}`);
  });

  test("a single worker has no canary to stop after: it rolls out, with a warning", () => {
    const plan = manual(1);
    expect(plan.mode).toBe("canary-first");
    expect(plan.waves.map((w) => w.awaitingPromotion)).toEqual([false]);
    expect(plan.warnings.join("\n")).toMatch(/promote: manual has no canary to stop after/);
  });

  test("rollout.promoted with promote: auto is named as having no effect", () => {
    expect(planRollout(fleet(3, { promoted: RELEASE })).warnings).toContain("rollout.promoted has no effect with rollout.promote: auto; remove it");
  });

  test("the plan says it stops after the canary and how to promote, in every format", () => {
    const r = report(fleet(6, { promote: "manual" }));
    expect(renderPlan(r, "text")).toMatch(/promote +manual: this `pulumi up` rolls out the canary w0 and its gate, then stops; waves 1-\d+ \(5 hosts\) wait for the promotion of v1\.2\.3: pulumi config set --path 'rollout\.promoted' v1\.2\.3/);
    expect(renderPlan(r, "text")).toMatch(/Wave 1: 1 host, worst case .*, waits for promotion/);
    expect(renderPlan(r, "markdown")).toMatch(/\*\*Stops after the canary\*\*.*pulumi config set --path 'rollout\.promoted' v1\.2\.3/);
    const json = JSON.parse(renderPlan(r, "json"));
    expect(json.mode).toBe("canary-only");
    expect(json.awaitingPromotion).toEqual([false, true, true, true, true, true]);
  });

  test("is refused with a release name that cannot be one", () => {
    expect(configProblems(() => fleet(3, { promote: "manual", promoted: "../v2" }))).toEqual([
      expect.stringMatching(/^rollout\.promoted: must be a release name/),
    ]);
    expect(configProblems(() => fleet(3, { promote: "later" }))).toEqual([expect.stringMatching(/^rollout\.promote: /)]);
  });
});

describe("rollout.rollback", () => {
  test("while it names the release: no canary, no gate, waves of the cap", () => {
    const config = fleet(6, { rollback: RELEASE, waves: [1, 2, "50%"], maxUnavailable: "50%" });
    const plan = planRollout(config);
    expect(plan.mode).toBe("rollback");
    expect(plan.canary).toBeNull();
    expect(plan.waves.map((w) => w.hosts)).toEqual([["w0", "w1", "w2"], ["w3", "w4", "w5"]]);
    expect(plan.waves.map((w) => w.gate)).toEqual(["verify", "verify"]);
    for (const host of Object.values(plan.hosts)) expect(host.steps).toEqual(["drain", "stop", "deploy", "restart-executor", "start-worker", "verify"]);
    // Compared with the rollout it undoes: four waves, one of them with the canary gate.
    const rollout = planRollout(fleet(6, { waves: [1, 2, "50%"], maxUnavailable: "50%" }));
    expect(rollout.waves.map((w) => w.hosts.length)).toEqual([1, 1, 2, 2]);
    expect(plan.estimate.worstCaseSeconds).toBeLessThan(rollout.estimate.worstCaseSeconds);
  });

  test("counts held workers as out, as every rollout does", () => {
    const plan = planRollout(fleet(8, { rollback: RELEASE, maxUnavailable: 3 }, (raw) => { raw.workers[7].hold = "broken disk"; }));
    expect(plan.waves.map((w) => w.hosts.length)).toEqual([2, 2, 2, 1]);
  });

  test("the plan says so, in every format", () => {
    const r = report(fleet(6, { rollback: RELEASE, maxUnavailable: "50%" }));
    expect(renderPlan(r, "text")).toMatch(/rollback +v1\.2\.3: no canary gate, waves of 3 \(rollout\.maxUnavailable\), every host drained/);
    expect(renderPlan(r, "markdown")).toMatch(/\*\*Rollback\*\* to v1\.2\.3: no canary gate, waves of 3/);
    expect(JSON.parse(renderPlan(r, "json")).mode).toBe("rollback");
  });

  test("naming another release is ignored with a warning: the next release gets its canary gate again", () => {
    const plan = planRollout(fleet(6, { rollback: "v1.2.2" }));
    expect(plan.mode).toBe("canary-first");
    expect(plan.canary).toBe("w0");
    expect(plan.warnings).toContain(`rollout.rollback (v1.2.2) is not release.version (${RELEASE}): ignored, this is a rollout with its canary gate; remove it`);
  });

  test("is not held back by promote: manual, and says so", () => {
    const plan = planRollout(fleet(6, { rollback: RELEASE, promote: "manual" }));
    expect(plan.mode).toBe("rollback");
    expect(plan.waves.every((w) => !w.awaitingPromotion)).toBe(true);
    expect(plan.warnings.join("\n")).toMatch(/does not hold back a rollback/);
  });
});

describe("properties of every mode", () => {
  const scenario = fc.record({
    ...FLEET_SHAPE,
    promote: fc.constantFrom("auto", "manual"),
    promoted: fc.constantFrom(undefined, RELEASE, "v0.0.1"),
    rollback: fc.constantFrom(undefined, RELEASE, "v0.0.1"),
  });
  type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

  function configOf(s: Scenario): FleetConfig | undefined {
    const rollout: Raw = { waves: s.waves, maxUnavailable: s.maxUnavailable, promote: s.promote };
    if (s.promoted) rollout.promoted = s.promoted;
    if (s.rollback) rollout.rollback = s.rollback;
    const raw: Raw = { ...minimalRaw(), workers: hostWorkers(s.n), rollout };
    for (const i of s.held) raw.workers[i % s.n].hold = `held ${i}`;
    return validOrUndefined(raw);
  }

  test("every active host is in exactly one wave, none over the cap, whatever the mode", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      const { placed, active } = placedAndActive(config!, plan.waves);
      expect(placed).toEqual(active); // each exactly once: duplicates would make it longer
      const { perWave } = fleetCapacity(config!);
      for (const wave of plan.waves) expect(wave.hosts.length).toBeLessThanOrEqual(perWave);
    }));
  });

  test("a rollback applies exactly while it names the release: then no gate and every wave but the last is the cap", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      expect(plan.mode === "rollback").toBe(s.rollback === RELEASE);
      if (plan.mode !== "rollback") return;
      const { perWave } = fleetCapacity(config!);
      expect(plan.canary).toBeNull();
      expect(plan.waves.every((w) => w.gate === "verify" && !w.awaitingPromotion)).toBe(true);
      plan.waves.slice(0, -1).forEach((w) => expect(w.hosts.length).toBe(perWave));
    }));
  });

  test("the waves wait exactly when promote is manual, the release is not promoted, it is no rollback and there is a canary", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      const waits = s.promote === "manual" && s.promoted !== RELEASE && s.rollback !== RELEASE && plan.canary !== null;
      expect(plan.mode === "canary-only").toBe(waits);
      // Only the canary's wave runs while the others wait; nothing waits otherwise.
      expect(plan.waves.map((w) => w.awaitingPromotion)).toEqual(plan.waves.map((w) => waits && w.index > 0));
      expect(Object.values(plan.hosts).every((h) => h.awaitingPromotion === plan.waves[h.wave].awaitingPromotion)).toBe(true);
    }));
  });

  test("no mode changes what a host runs: the same steps as in the plan of promote: auto, the canary gate aside", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      for (const host of Object.values(plan.hosts)) {
        expect(host.steps.filter((step) => step !== "canary-gate")).toEqual(["drain", "stop", "deploy", "restart-executor", "start-worker", "verify"]);
        expect(host.steps.includes("canary-gate")).toBe(host.name === plan.canary);
      }
    }));
  });
});

describe("the line a wave starts with", () => {
  test.each([
    [{ index: 0, waves: 3, hosts: ["a"], canary: true, mode: "canary-first" as const, release: "v2", waiting: false }, "wave 0/2 starts (canary, then its gate), 1 host: a"],
    [{ index: 1, waves: 3, hosts: ["b", "c"], canary: false, mode: "canary-first" as const, release: "v2", waiting: false }, "wave 1/2 starts (v2), 2 hosts: b c"],
    [{ index: 1, waves: 3, hosts: ["b", "c"], canary: false, mode: "canary-only" as const, release: "v2", waiting: true }, "wave 1/2 waits for the promotion of v2 (2 hosts: b c)"],
    [{ index: 0, waves: 2, hosts: ["a", "b", "c"], canary: false, mode: "rollback" as const, release: "v1", waiting: false }, "wave 0/1 starts (rollback to v1, no canary gate), 3 hosts: a b c"],
  ])("%j", (args, line) => {
    expect(waveStartLine(args)).toBe(line);
  });
});
