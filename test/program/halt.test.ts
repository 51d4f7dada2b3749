// What the program does when a step fails: nothing that depends on it is ever registered, so nothing runs. The
// mock runtime goes on with everything else, which is what the real engine does under `pulumi up
// --continue-on-error` (how rollouts run: deploy.yml, lab/up.ts); without that flag the engine also starts no
// independent step after the first failure (pulumi v3.248.0 step_executor.go, cancelDueToError). The lab shows
// both on the real engine (test/lab/rollout.test.ts, "a host that fails while its wave-mate is mid-chain").
import { expect, test } from "vitest";
import { REMOTE, existingWorkers, runProgramWith, stackConfig } from "./fixtures";
import { rolloutSteps } from "./graph";

// Waves: canary w1, then [w2, w3], then [w4, w5].
const raw = stackConfig(existingWorkers(5), { rollout: { waves: [2], maxUnavailable: 2 } });

test("halts the rollout when the canary's verify fails: no step of any other host is registered", () => {
  const dump = runProgramWith(raw, ["w1-verify"]);
  expect(dump.error).toMatch(/w1-verify failed/);
  const steps = rolloutSteps(dump);
  expect(steps.filter((s) => s.host !== "w1")).toEqual([]);
  // The canary got as far as its failed verify, and its gate never ran.
  expect(steps.filter((s) => s.host === "w1").map((s) => s.step)).toEqual(
    ["drain", "stop", "deploy", "restart-executor", "start-worker", "verify"],
  );
});

test("halts at the first failing wave: a failed host in wave 1 stops wave 2 but not its wave-mate", () => {
  const dump = runProgramWith(raw, ["w2-deploy"]);
  const hostsWithSteps = new Set(rolloutSteps(dump).map((s) => s.host));
  expect([...hostsWithSteps].sort()).toEqual(["w1", "w2", "w3"]);
  // The wave's barrier, which wave 2 waits for, is never registered: the canary's is.
  const barriers = dump.registrations.filter((r) => /-wave-\d+-passed$/.test(r.name)).map((r) => r.name);
  expect(barriers).toEqual(["fleet-wave-0-passed"]);
  const w3 = rolloutSteps(dump).filter((s) => s.host === "w3").map((s) => s.step);
  expect(w3).toContain("verify");
  // Host setup that is not gated (layout, decommission marker) still exists for later hosts.
  expect(dump.registrations.some((r) => r.type === REMOTE && r.name === "w5-layout")).toBe(true);
});
