import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FleetConfig } from "../../config/schema";
import { ConfigError, validateFleetConfig } from "../../config/load";
import { DEPLOY_JOB_TIMEOUT_MINUTES, DEPLOY_SETUP_MINUTES, GITHUB_JOB_LIMIT_MINUTES, dialBudgetSeconds } from "../../plan/budget";
import { planRollout } from "../../plan/planner";
import { ROLLOUT_STEPS, stepBudgets } from "../../host/steps";
import { buildReport } from "../../plan/report";
import { renderText } from "../../plan/render/text";
import { rolloutStepInputs } from "../../host/step-inputs";
import { STOP_MARGIN_SECONDS } from "../../host/units";
import { Raw, fleet, hostWorkers, minimalRaw } from "./fleet-fixture";

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

describe("estimate", () => {
  // Defaults: dialErrorLimit 3, perDialTimeout 10 s: 4 dials of 10 s and waits of 0.1 + 0.15 + 0.225 s (rounded up).
  const DIAL = 4 * 10 + 1;
  // Tailscale is on by default: layout (3 apt-get runs of 600 s), forget-stale 60, join 300, device lookup 120.
  const SETUP = 1800 + DIAL + 60 + 300 + DIAL + 120;

  test("is every deadline spent in full and every dial retried, the canary wave adding the canary gate", () => {
    const plan = planRollout(fleet(3, { drainDeadline: "6m", minHealthyTime: "30s", canaryDeadline: "15m", waves: [2], maxUnavailable: 2 }));
    // drain 360 + stop (the unit's TimeoutStopSec, drain + margin, plus 10 s) + deploy 600 + restart-executor 60
    // + start-worker 60 + verify: doctor 60 + minHealthyTime 30, plus the autoRevert inside it (drain, stop,
    // restart-executor 60, start-worker 60, doctor 60); env and units (60, side by side) before them; each
    // command may spend DIAL reaching its host.
    const stop = 360 + STOP_MARGIN_SECONDS + 10;
    const verify = 60 + 30 + (360 + stop + 60 + 60 + 60);
    const chain = 60 + 360 + stop + 600 + 60 + 60 + verify + 7 * DIAL;
    expect(plan.waves.map((w) => w.worstCaseSeconds)).toEqual([chain + 900 + DIAL, chain]);
    expect(plan.estimate.setupSeconds).toBe(SETUP);
    expect(plan.estimate.worstCaseSeconds).toBe(SETUP + 2 * chain + 900 + DIAL);
  });

  test("counts verify once without autoRevert", () => {
    const plan = planRollout(fleet(2, { autoRevert: false, minHealthyTime: "1m", waves: [1] }));
    expect(plan.waves[1].worstCaseSeconds).toBe(60 + 360 + (360 + STOP_MARGIN_SECONDS + 10) + 600 + 60 + 60 + 120 + 7 * DIAL);
  });

  test("counts the provider's dial retries: 10 retries of 15 s are 11 dials and 12 s of waits per command", () => {
    const base = planRollout(fleet(2, { waves: [1] }));
    const slow = planRollout(fleet(2, { waves: [1] }, (raw) => { raw.ssh.dialErrorLimit = 10; raw.ssh.perDialTimeout = "15s"; }));
    // Waits 0.1 × 1.5^i for i < 10 = 11.33 s, rounded up; 7 commands per wave, 2 in setup (layout, join).
    const perCommand = 11 * 15 + 12;
    expect(slow.waves[1].worstCaseSeconds - base.waves[1].worstCaseSeconds).toBe(7 * (perCommand - DIAL));
    expect(slow.estimate.setupSeconds - base.estimate.setupSeconds).toBe(2 * (perCommand - DIAL));
  });

  test("leaves the tailnet join out of the setup when Tailscale is off", () => {
    const plan = planRollout(fleet(2, {}, (raw) => { raw.tailscale = { enabled: false }; }));
    expect(plan.estimate.setupSeconds).toBe(1800 + DIAL);
  });

  test("verify's revert stops the worker within the stop step's budget, as the plan counts it", () => {
    const config = fleet(2, { drainDeadline: "10m" });
    expect(rolloutStepInputs(config, "w0", "verify").ZF_STOP_TIMEOUT).toBe(stepBudgets(config).stop);
    expect(stepBudgets(config).stop).toBe(600 + STOP_MARGIN_SECONDS + 10);
  });
});

test("says that an ordered server's delivery is not in the worst case", () => {
  const plan = planRollout(fleet(3, {}, (raw) => {
    raw.ssh.publicKey = "ssh-ed25519 AAAAC3Nza fleet";
    raw.workers[2] = { name: "w2", ovh: { order: { plan: "24rise01", datacenter: "bhs", os: "debian12_64" } } };
  }));
  expect(plan.warnings).toContain("the worst case does not count the time OVH takes to deliver an ordered server (w2): a first `pulumi up` of these may take longer");
  expect(planRollout(fleet(3)).warnings.filter((w) => w.includes("OVH"))).toEqual([]);
});

describe("the deploy job's limits", () => {
  test("a plan that fits the job's timeout has no warning about it", () => {
    expect(planRollout(fleet(5)).warnings.filter((w) => w.includes("job"))).toEqual([]);
  });

  test("a stack whose worst case exceeds the deploy job's timeout and GitHub's 6 hours is warned about, twice", () => {
    const plan = planRollout(fleet(12, { waves: [1], maxUnavailable: 1 }));
    const minutes = Math.ceil(plan.estimate.worstCaseSeconds / 60);
    expect(minutes + DEPLOY_SETUP_MINUTES).toBeGreaterThan(GITHUB_JOB_LIMIT_MINUTES);
    expect(plan.warnings).toContain(`the worst case (${minutes} min, plus ${DEPLOY_SETUP_MINUTES} min of job setup) exceeds the deploy job's timeout-minutes (${DEPLOY_JOB_TIMEOUT_MINUTES}): a slow rollout would be cut in the middle of a wave`);
    expect(plan.warnings.some((w) => w.includes(`exceeds GitHub's ${GITHUB_JOB_LIMIT_MINUTES}-minute job limit`))).toBe(true);
  });
});

test("the plan is deterministic: same config, same plan, whatever the run", () => {
  const a = planRollout(fleet(200, { waves: [1, "7%"], maxUnavailable: "20%" }));
  const b = planRollout(fleet(200, { waves: [1, "7%"], maxUnavailable: "20%" }));
  expect(JSON.stringify(b)).toBe(JSON.stringify(a));
});

describe("properties of every valid config", () => {
  const batchSize = fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 100 }).map((p) => `${p}%`));
  const scenario = fc.record({
    n: fc.integer({ min: 1, max: 120 }),
    waves: fc.array(batchSize, { minLength: 1, maxLength: 4 }),
    maxUnavailable: batchSize,
    held: fc.array(fc.nat(), { maxLength: 5 }),
    canary: fc.option(fc.nat(), { nil: undefined }),
  });

  /** The config a scenario describes, or undefined when the schema rejects it (e.g. a wave above an integer cap). */
  type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

  function configOf(s: Scenario): FleetConfig | undefined {
    const raw: Raw = { ...minimalRaw(), workers: hostWorkers(s.n), rollout: { waves: s.waves, maxUnavailable: s.maxUnavailable } };
    for (const i of s.held) raw.workers[i % s.n].hold = `held ${i}`;
    const active = raw.workers.filter((w: Raw) => !w.hold);
    if (s.canary !== undefined && active.length) raw.rollout.canary = active[s.canary % active.length].name;
    try {
      return validateFleetConfig(raw, { source: "property", secretsRequired: true });
    } catch (err) {
      if (err instanceof ConfigError) return undefined;
      throw err;
    }
  }

  const resolve = (size: number | string, total: number) =>
    typeof size === "number" ? size : Math.max(1, Math.floor((total * Number(size.slice(0, -1))) / 100));

  test("every active host is in exactly one wave, held hosts in none", () => {
    fc.assert(fc.property(scenario, (s) => {
      const config = configOf(s);
      fc.pre(config !== undefined);
      const plan = planRollout(config!);
      const active = config!.workers.filter((w) => w.hold === undefined).map((w) => w.name);
      const placed = plan.waves.flatMap((w) => w.hosts);
      expect([...placed].sort()).toEqual([...active].sort());
      expect(new Set(placed).size).toBe(placed.length);
      expect(Object.keys(plan.hosts).sort()).toEqual([...active].sort());
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

describe("a reinstall in the plan", () => {
  const withReinstall = (os?: string) => fleet(3, { waves: [1], maxUnavailable: 1 }, (raw) => {
    raw.ssh.publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake fleet";
    raw.workers[2] = { name: "w2", ovh: { serviceName: "ns1.example.net", ...(os ? { reinstall: { os } } : {}) } };
  });

  test("is on the host, in its wave, and the wave's worst case counts the drain, stop (with their dials) and OVH's reinstall", () => {
    const plan = planRollout(withReinstall("debian12_64"));
    const without = planRollout(withReinstall());
    expect(plan.hosts.w2.reinstall).toBe("debian12_64");
    expect(without.hosts.w2.reinstall).toBeUndefined();
    const wave = plan.hosts.w2.wave;
    const config = withReinstall("debian12_64");
    const extra = config.rollout.drainDeadline + stepBudgets(config).stop + 2 * dialBudgetSeconds(config) + 45 * 60;
    expect(plan.waves[wave].worstCaseSeconds - without.waves[wave].worstCaseSeconds).toBe(extra);
    for (const w of plan.waves.filter((w) => w.index !== wave)) expect(w.worstCaseSeconds).toBe(without.waves[w.index].worstCaseSeconds);
  });

  test("the plan's text says the host is reinstalled in its wave", () => {
    const config = withReinstall("debian12_64");
    const text = renderText(buildReport("test", "Pulumi.test.yaml", { config, environments: [] } as never));
    const line = text.split("\n").find((l) => l.includes("ns1.example.net"));
    expect(line).toContain("REINSTALLED with debian12_64 in its wave (drain, stop, reinstall, then its whole setup)");
  });

  test("needs the fleet's public key, which OVH installs on the reinstalled box", () => {
    expect(() => fleet(2, {}, (raw) => { raw.workers[1] = { name: "w1", ovh: { serviceName: "ns1.example.net", reinstall: { os: "debian12_64" } } }; }))
      .toThrow(/workers\[1\]\.ovh\.reinstall: needs ssh\.publicKey/);
  });
});
