import { describe, expect, test } from "vitest";
import { validateFleetConfig } from "../../config/load";
import { planRollout } from "../../plan/planner";
import { REMOTE, existingWorkers, named, runProgramWith, stackConfig } from "./fixtures";
import { ancestors, edgeCount, rolloutSteps, wavesFromGraph } from "./graph";

const planOf = (raw: Record<string, unknown>) => planRollout(validateFleetConfig(raw, { source: "test", secretsRequired: true }));

const oneWorker = stackConfig(existingWorkers(1));
const fleets: [string, Record<string, unknown>][] = [
  ["1 worker", oneWorker],
  ["2 workers", stackConfig(existingWorkers(2))],
  ["5 workers with waves [1, 2, 50%]", stackConfig(existingWorkers(5), { rollout: { waves: [1, 2, "50%"], maxUnavailable: 2 } })],
  ["12 workers, explicit canary w7, one held", stackConfig(
    existingWorkers(12).map((w) => (w.name === "w3" ? { ...w, hold: "disk swap" } : w)),
    { rollout: { canary: "w7", waves: [2, "25%"], maxUnavailable: "25%" } },
  )],
];

// One evaluation per fleet, shared by every test of it (the single-worker test below reads the first).
const dumps = new Map(fleets.map(([, raw]) => [raw, runProgramWith(raw)]));

describe.each(fleets)("the dependsOn graph of %s", (_label, raw) => {
  const dump = dumps.get(raw)!;
  const plan = planOf(raw);

  test("registers without error and layers hosts exactly into the plan's waves", () => {
    expect(dump.error).toBeUndefined();
    const fromGraph = wavesFromGraph(dump).map((w) => [...w].sort());
    expect(fromGraph).toEqual(plan.waves.map((w) => [...w.hosts].sort()));
  });

  test("chains each host's steps strictly in plan order", () => {
    for (const host of Object.values(plan.hosts)) {
      const steps = rolloutSteps(dump).filter((s) => s.host === host.name);
      expect(steps.map((s) => s.step).sort()).toEqual([...host.steps].sort());
      host.steps.slice(1).forEach((step, i) => {
        expect(named(dump, `${host.name}-${step}`).dependencies).toContain(named(dump, `${host.name}-${host.steps[i]}`).urn);
      });
    }
  });

  test("makes every step of a later wave wait for the gate of every host of the wave before", () => {
    plan.waves.slice(1).forEach((wave, i) => {
      const previous = plan.waves[i];
      const gates = previous.hosts.map((h) => `${h}-${previous.gate}`);
      for (const host of wave.hosts) {
        for (const step of ["env", "units", ...plan.hosts[host].steps]) {
          expect([...ancestors(dump, `${host}-${step}`)], `${host}-${step}`).toEqual(expect.arrayContaining(gates));
        }
      }
    });
  });

  test("gives held workers no rollout step, only the script bundle and their decommission", () => {
    for (const held of plan.held) {
      const mine = dump.registrations.filter((r) => r.type === REMOTE && r.name.startsWith(`${held.name}-`));
      // The bundle touches no unit: it is there so that the decommission's delete finds its script.
      expect(mine.map((r) => r.name)).toEqual([`${held.name}-scripts`, `${held.name}-decommission`]);
    }
  });
});

test("a single-worker fleet has no canary gate", () => {
  const dump = dumps.get(oneWorker)!;
  expect(dump.error).toBeUndefined();
  expect(rolloutSteps(dump).map((s) => s.step)).not.toContain("canary-gate");
});

test("orders 60 workers with O(N) dependency edges, not one per pair of hosts in consecutive waves", () => {
  // Waves of 1, 15, 15, 15, 14 under a 25% cap. Every gated resource (env, units, six steps) depending on every
  // gate of the wave before costs 8 × 15 × 15 edges per pair of waves (over 5,000 here, ≈ N²/2 as N grows); a
  // barrier per wave costs a fixed few per host. 60 workers, not 200: under mocks each worker costs about a
  // second of a loaded machine, and the difference is already an order of magnitude.
  const workers = 60;
  const raw = stackConfig(existingWorkers(workers), { rollout: { waves: ["25%"], maxUnavailable: "25%" } });
  const dump = runProgramWith(raw, [], undefined, 400_000);
  expect(dump.error).toBeUndefined();
  expect(wavesFromGraph(dump).map((w) => [...w].sort())).toEqual(planOf(raw).waves.map((w) => [...w.hosts].sort()));
  expect(edgeCount(dump)).toBeLessThanOrEqual(25 * workers);
}, 450_000);
