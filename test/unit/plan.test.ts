import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FleetConfig } from "../../config/schema";
import { planRollout } from "../../plan/planner";
import { ROLLOUT_STEPS } from "../../host/steps";
import { FLEET_SHAPE, Raw, fleet, hostWorkers, minimalRaw, placedAndActive, validOrUndefined } from "./fleet-fixture";

const ones = (n: number) => Array<number>(n).fill(1);
const twos = (n: number) => Array<number>(n).fill(2);

// Expected wave sizes worked out by hand from Ansible `serial` rules: the canary alone first, then each entry of
// `waves` (percentages of the active hosts, rounded down, at least 1; the last entry repeats), each capped at
// maxUnavailable (of the whole fleet).
const POLICIES: Record<string, Raw> = {
  "default (1, 2, 50%; cap 25%)": {},
  "one at a time (1; cap 1)": { waves: [1], maxUnavailable: 1 },
  "percentages (10%, 50%; cap 50%)": { waves: ["10%", "50%"], maxUnavailable: "50%" },
  "prod-like (1, 2, 50%; cap 2)": { waves: [1, 2, "50%"], maxUnavailable: 2 },
};
const WAVE_SIZES: [string, number, number[]][] = [
  ["default (1, 2, 50%; cap 25%)", 1, [1]],
  ["default (1, 2, 50%; cap 25%)", 2, [1, 1]],
  ["default (1, 2, 50%; cap 25%)", 5, [1, 1, 1, 1, 1]],
  ["default (1, 2, 50%; cap 25%)", 20, [1, 1, 2, 5, 5, 5, 1]],
  ["default (1, 2, 50%; cap 25%)", 1000, [1, 1, 2, 250, 250, 250, 246]],
  ["one at a time (1; cap 1)", 1, [1]],
  ["one at a time (1; cap 1)", 2, [1, 1]],
  ["one at a time (1; cap 1)", 5, ones(5)],
  ["one at a time (1; cap 1)", 20, ones(20)],
  ["one at a time (1; cap 1)", 1000, ones(1000)],
  ["percentages (10%, 50%; cap 50%)", 1, [1]],
  ["percentages (10%, 50%; cap 50%)", 2, [1, 1]],
  ["percentages (10%, 50%; cap 50%)", 5, [1, 1, 2, 1]],
  ["percentages (10%, 50%; cap 50%)", 20, [1, 2, 10, 7]],
  ["percentages (10%, 50%; cap 50%)", 1000, [1, 100, 500, 399]],
  ["prod-like (1, 2, 50%; cap 2)", 1, [1]],
  ["prod-like (1, 2, 50%; cap 2)", 2, [1, 1]],
  ["prod-like (1, 2, 50%; cap 2)", 5, [1, 1, 2, 1]],
  ["prod-like (1, 2, 50%; cap 2)", 20, [1, 1, 2, ...twos(8)]],
  ["prod-like (1, 2, 50%; cap 2)", 1000, [1, 1, 2, ...twos(498)]],
];

describe("waves", () => {
  test.each(WAVE_SIZES)("%s with %i workers", (policy, n, sizes) => {
    const plan = planRollout(fleet(n, POLICIES[policy]));
    expect(plan.waves.map((w) => w.hosts.length)).toEqual(sizes);
    // Hosts keep their config order: the serial list is the workers list, canary first.
    expect(plan.waves.flatMap((w) => w.hosts)).toEqual(hostWorkers(n).map((w) => w.name));
  });

  test("a single worker gets no canary and a warning", () => {
    const plan = planRollout(fleet(1));
    expect(plan.canary).toBeNull();
    expect(plan.waves[0].gate).toBe("verify");
    expect(plan.warnings.join("\n")).toMatch(/single worker has no canary/);
  });

  test("a percentage wave above the cap is capped, with a warning naming both", () => {
    const plan = planRollout(fleet(50, { waves: ["100%"], maxUnavailable: "10%" }));
    expect(plan.waves.slice(1).map((w) => w.hosts.length)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 5, 4]);
    expect(plan.warnings).toContain("rollout.waves[0] (100%) is capped at 5 host(s) by rollout.maxUnavailable (10%)");
  });

  test("an integer wave above a percentage cap is capped, with a warning", () => {
    const plan = planRollout(fleet(8, { waves: [1, 4], maxUnavailable: "25%" }));
    expect(plan.waves.map((w) => w.hosts.length)).toEqual([1, 1, 2, 2, 2]);
    expect(plan.warnings).toContain("rollout.waves[1] (4) is capped at 2 host(s) by rollout.maxUnavailable (25%)");
  });

  test("wave entries the plan never reaches raise no warning", () => {
    expect(planRollout(fleet(2)).warnings.filter((w) => w.includes("capped"))).toEqual([]);
  });
});

describe("the canary", () => {
  test("defaults to the first worker", () => {
    const plan = planRollout(fleet(4));
    expect(plan.canary).toBe("w0");
    expect(plan.waves[0]).toMatchObject({ hosts: ["w0"], gate: "canary-gate" });
  });

  test("rollout.canary picks it, and the rest keep their order", () => {
    const plan = planRollout(fleet(4, { canary: "w2", waves: [1] }));
    expect(plan.waves.map((w) => w.hosts)).toEqual([["w2"], ["w0"], ["w1"], ["w3"]]);
  });

  test("canary: true on a worker picks it", () => {
    const plan = planRollout(fleet(4, {}, (raw) => (raw.workers[3].canary = true)));
    expect(plan.canary).toBe("w3");
    expect(plan.hosts.w3).toMatchObject({ wave: 0, canary: true });
  });

  test("only the canary runs the canary gate, after its whole chain", () => {
    const plan = planRollout(fleet(3, { waves: [2], maxUnavailable: 2 }));
    expect(plan.hosts.w0.steps).toEqual([...ROLLOUT_STEPS, "canary-gate"]);
    expect(plan.hosts.w1.steps).toEqual([...ROLLOUT_STEPS]);
    expect(plan.waves.map((w) => w.gate)).toEqual(["canary-gate", "verify"]);
  });
});

describe("held workers", () => {
  const plan = planRollout(fleet(5, {}, (raw) => {
    raw.workers[0].hold = "kernel upgrade, OPS-412";
    raw.workers[3].hold = true;
  }));

  test("are in no wave, each with its reason", () => {
    expect(plan.waves.flatMap((w) => w.hosts)).toEqual(["w1", "w2", "w4"]);
    expect(plan.held).toEqual([{ name: "w0", reason: "kernel upgrade, OPS-412" }, { name: "w3", reason: "held in config" }]);
    expect(plan.hosts.w0).toBeUndefined();
  });

  test("leave the canary to the first active worker, and are named in the warnings", () => {
    expect(plan.canary).toBe("w1");
    expect(plan.warnings).toContain("w0 is held (kernel upgrade, OPS-412): it keeps its current release");
  });
});

// Waves and maxUnavailable count one population, the whole fleet, with held and gone workers already out: a
// rollout never has more than maxUnavailable of the fleet out of service at once (README, rollout.maxUnavailable).
describe("capacity with held and gone workers", () => {
  const outAtOnce = (plan: ReturnType<typeof planRollout>) =>
    Math.max(...plan.waves.map((w) => w.hosts.length)) + plan.alreadyUnavailable;

  test("marking 2 dead hosts of 20 gone leaves 3 live hosts per wave under a 25% cap, not 5", () => {
    const plan = planRollout(fleet(20, { waves: ["50%"], maxUnavailable: "25%" }, (raw) => {
      raw.workers[18].gone = true;
      raw.workers[19].gone = true;
    }));
    expect(plan.maxUnavailable).toBe(5);
    expect(plan.waves.slice(1).map((w) => w.hosts.length)).toEqual([3, 3, 3, 3, 3, 2]);
    expect(outAtOnce(plan)).toBe(5);
  });

  test("held workers count as unavailable: 3 held of 20 under a cap of 5 leave waves of 2", () => {
    const plan = planRollout(fleet(20, { waves: [5], maxUnavailable: 5 }, (raw) => {
      for (const i of [0, 1, 2]) raw.workers[i].hold = "out of service";
    }));
    expect(plan.waves.slice(1).map((w) => w.hosts.length)).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect(outAtOnce(plan)).toBe(5);
    expect(plan.warnings).toContain("rollout.waves[0] (5) is capped at 2 host(s) by rollout.maxUnavailable (5, less 3 held or gone)");
  });

  test("wave percentages count the whole fleet, held and gone workers included", () => {
    const plan = planRollout(fleet(20, { waves: ["10%"], maxUnavailable: "75%" }, (raw) => {
      for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) raw.workers[i].gone = true;
    }));
    // 10% of 20 = 2 per wave (10% of the 10 live ones would be 1).
    expect(plan.waves.slice(1).map((w) => w.hosts.length)).toEqual([2, 2, 2, 2, 1]);
  });

  test("when held and gone workers already reach the cap, one host at a time goes, with a warning", () => {
    const plan = planRollout(fleet(8, { waves: ["50%"], maxUnavailable: "25%" }, (raw) => {
      raw.workers[6].gone = true;
      raw.workers[7].hold = "disk swap";
    }));
    expect(plan.waves.slice(1).every((w) => w.hosts.length === 1)).toBe(true);
    expect(plan.warnings).toContain("2 held or gone worker(s) already reach rollout.maxUnavailable (25%: 2 of 8): the rollout still takes 1 host at a time, so 3 will be out of service at once");
  });
});

test("the plan is deterministic: same config, same plan, whatever the run", () => {
  const a = planRollout(fleet(200, { waves: [1, "7%"], maxUnavailable: "20%" }));
  const b = planRollout(fleet(200, { waves: [1, "7%"], maxUnavailable: "20%" }));
  expect(JSON.stringify(b)).toBe(JSON.stringify(a));
});

describe("properties of every valid config", () => {
  const scenario = fc.record({
    ...FLEET_SHAPE,
    canary: fc.option(fc.nat(), { nil: undefined }),
  });

  /** The config a scenario describes, or undefined when the schema rejects it (e.g. a wave above an integer cap). */
  type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

  function configOf(s: Scenario): FleetConfig | undefined {
    const raw: Raw = { ...minimalRaw(), workers: hostWorkers(s.n), rollout: { waves: s.waves, maxUnavailable: s.maxUnavailable } };
    for (const i of s.held) raw.workers[i % s.n].hold = `held ${i}`;
    const active = raw.workers.filter((w: Raw) => !w.hold);
    if (s.canary !== undefined && active.length) raw.rollout.canary = active[s.canary % active.length].name;
    return validOrUndefined(raw);
  }

  const resolve = (size: number | string, total: number) =>
    typeof size === "number" ? size : Math.max(1, Math.floor((total * Number(size.slice(0, -1))) / 100));

  test("every active host is in exactly one wave, held hosts in none", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      const { placed, active } = placedAndActive(config!, plan.waves);
      expect(placed).toEqual(active); // each exactly once: duplicates would make it longer
      expect(Object.keys(plan.hosts).sort()).toEqual(active);
    }));
  });

  test("the canary is alone in wave 0 and first; no one else is a canary", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      const activeCount = config!.workers.filter((w) => w.hold === undefined).length;
      if (activeCount < 2) {
        expect(plan.canary).toBeNull();
        return;
      }
      expect(plan.waves[0].hosts).toEqual([plan.canary]);
      expect(plan.waves[0].gate).toBe("canary-gate");
      if (config!.rollout.canary) expect(plan.canary).toBe(config!.rollout.canary);
      expect(Object.values(plan.hosts).filter((h) => h.canary).map((h) => h.name)).toEqual([plan.canary]);
    }));
  });

  test("no wave takes more hosts than the cap leaves once held and gone ones count, and sizes follow the serial list", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      // One population: every configured worker, held (and gone) ones already unavailable.
      const fleetSize = config!.workers.length;
      const out = config!.workers.filter((w) => w.hold !== undefined).length;
      const cap = Math.max(1, resolve(config!.rollout.maxUnavailable, fleetSize) - out);
      const rest = plan.canary ? plan.waves.slice(1) : plan.waves;
      rest.forEach((wave, j) => {
        const wanted = Math.min(resolve(s.waves[Math.min(j, s.waves.length - 1)], fleetSize), cap);
        expect(wave.hosts.length).toBeLessThanOrEqual(cap);
        // Every wave is its serial size; only the last may be smaller (it takes what is left).
        if (j < rest.length - 1) expect(wave.hosts.length).toBe(wanted);
        else expect(wave.hosts.length).toBeGreaterThanOrEqual(1);
        if (j === rest.length - 1) expect(wave.hosts.length).toBeLessThanOrEqual(wanted);
      });
    }));
  });
});
