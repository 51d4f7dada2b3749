// The plan's worst case and step budgets: every deadline spent in full, every dial retried, a reinstall's wait,
// and the deploy job's limits it must fit (the waves and the canary: plan.test.ts).
import { describe, expect, test } from "vitest";
import { DEPLOY_JOB_TIMEOUT_MINUTES, DEPLOY_SETUP_MINUTES, GITHUB_JOB_LIMIT_MINUTES, dialBudgetSeconds } from "../../plan/budget";
import { planRollout } from "../../plan/planner";
import { stepBudgets } from "../../host/steps";
import { buildReport } from "../../plan/report";
import { renderText } from "../../plan/render/text";
import { rolloutStepInputs } from "../../host/step-inputs";
import { STOP_MARGIN_SECONDS } from "../../host/units";
import { fleet } from "./fleet-fixture";

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
