// stop.sh: bounded `systemctl stop` of the worker, confirmed inactive.
import { describe, expect, test } from "vitest";
import { ENOUGH_S, HUNG_MS, useHarness, WORKER } from "./harness";
import { stepEnv } from "./step-env";

describe("stop.sh", () => {
  const h = useHarness();

  test.each(["run", "runRemote"] as const)("stops a running worker and confirms it is inactive (%s)", async (mode) => {
    await h().startUnits();
    const r = await h()[mode]("stop.sh", { env: stepEnv("stop", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ step: "stop", status: "ok", was: "active/running" });
    expect(h().unitState(WORKER)).toMatchObject({ ActiveState: "inactive", MainPID: 0 });
    expect(h().calls("systemctl stop")).toEqual(["systemctl stop zombied-worker"]);
  });

  test.each([
    ["never started", "inactive/dead"],
    ["failed", "failed/failed"],
  ])("skips a worker that is already %s", async (_, was) => {
    if (was.startsWith("failed")) h().setUnitState(WORKER, { ActiveState: "failed", SubState: "failed" });
    const r = await h().run("stop.sh", { env: stepEnv("stop", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ status: "skip", was });
    expect(h().calls("systemctl stop")).toEqual([]);
  });

  test("stops a worker between crash-loop attempts (activating is not inactive)", async () => {
    h().setKnobs(WORKER, { crash: 1 });
    h().writeUnit(WORKER, { restart: "always", restartSec: "1" });
    await h().startUnits();
    await h().waitFor(() => h().unitState(WORKER).SubState === "auto-restart", HUNG_MS, "auto-restart");
    const r = await h().run("stop.sh", { env: stepEnv("stop", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.status).toMatchObject({ status: "ok", was: "activating/auto-restart" });
    await new Promise((res) => setTimeout(res, 1200));
    expect(h().unitState(WORKER).ActiveState).toBe("inactive");
  });

  test("gives up at ZF_STEP_TIMEOUT with exit 3 and the state it gave up in", async () => {
    // timeout(1) bounds the stop in real seconds: 3 s is ample for the stand-in to begin the stop, and far below the
    // unit's own stop timeout, which is what the step must not wait for.
    h().writeUnit(WORKER, { timeoutStopSec: "90" });
    h().setKnobs(WORKER, { on_term: "ignore" });
    await h().startUnits();
    const r = await h().run("stop.sh", { env: stepEnv("stop", { ZF_STEP_TIMEOUT: 3 }) });
    expect(r.code).toBe(3);
    expect(r.status).toMatchObject({
      status: "fail", was: "active/running",
      reason: "systemctl stop zombied-worker did not return within 3s (state deactivating/stop-sigterm)",
    });
    expect(r.durationMs).toBeLessThan(90_000); // gave up at its own deadline, not at the unit's TimeoutStopSec
  });

  test("fails with exit 1 when systemctl refuses the stop", async () => {
    await h().startUnits();
    h().failVerb("stop", "Failed to stop zombied-worker.service: Access denied");
    const r = await h().run("stop.sh", { env: stepEnv("stop", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.code).toBe(1);
    expect(r.status?.reason).toBe("systemctl stop zombied-worker failed (exit 1): Failed to stop zombied-worker.service: Access denied");
  });

  test("rejects a timeout that is not seconds with exit 2", async () => {
    const r = await h().run("stop.sh", { env: stepEnv("stop", { ZF_STEP_TIMEOUT: "1m" }) });
    expect(r.code).toBe(2);
  });
});
