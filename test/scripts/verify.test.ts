// verify.sh: doctor, then min healthy time; auto-revert to `previous` on failure, still failing the step.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { ENOUGH_S, EXECUTOR, useHarness, WORKER } from "./harness";
import { stepEnv } from "./step-env";

describe("verify.sh", () => {
  const h = useHarness();
  /** The program's inputs for the release `current` points at (the one deployed), without auto-revert. */
  const inputs = (extra: Record<string, string | number> = {}) => ({
    env: stepEnv("verify", {
      ZF_VERSION: h().release("current") ?? "none", ZF_VERIFY_COMMAND: "zombied doctor worker", ZF_MIN_HEALTHY: 1,
      ZF_STEP_TIMEOUT: ENOUGH_S, ZF_AUTO_REVERT: "false", ...extra,
    }),
  });

  /** releases 1.0.0 (good, previous) and 2.0.0 (current, with these knobs), both units running on 2.0.0. */
  async function badRelease(knobs: Parameters<ReturnType<typeof h>["installRelease"]>[1]) {
    h().installRelease("2.0.0", knobs);
    h().setPrevious("1.0.0");
    h().setCurrent("2.0.0");
    await h().startUnits();
  }

  test("fails without checking when the host runs another release than the one deployed (reverted earlier)", async () => {
    await h().startUnits(); // current is 1.0.0
    const r = await h().run("verify.sh", inputs({ ZF_VERSION: "2.0.0" }));
    expect(r.code).toBe(1);
    expect(r.status).toMatchObject({ status: "fail", version: "1.0.0", expected: "2.0.0" });
    expect(r.status?.reason).toMatch(/earlier verify of 2\.0\.0 failed and reverted it/);
    expect(h().calls("zombied doctor")).toEqual([]);
  });

  test("passes when the host runs the release that was deployed", async () => {
    await h().startUnits();
    expect((await h().run("verify.sh", inputs({ ZF_VERSION: "1.0.0" }))).code).toBe(0);
  });

  test.each(["run", "runRemote"] as const)("passes a worker that stays healthy for the min healthy time (%s)", async (mode) => {
    await h().startUnits();
    const r = await h()[mode]("verify.sh", inputs());
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ step: "verify", status: "ok", version: "1.0.0", healthy_for: "1s", restarts: "0" });
    expect(r.durationMs).toBeGreaterThanOrEqual(1000);
    expect(h().calls("zombied doctor")).toEqual(["zombied doctor worker"]);
  });

  test("fails when the verify command fails, naming its failing check", async () => {
    await badRelease({ doctor: { doctor_exit: 1 } });
    const r = await h().run("verify.sh", inputs());
    expect(r.code).toBe(1);
    expect(r.status).toMatchObject({ status: "fail", version: "2.0.0", reason: "verify command failed (exit 1): [FAIL] sandbox backend" });
    expect(h().release("current")).toBe("2.0.0");
  });

  test("fails when the worker restarts during the min healthy time", async () => {
    h().writeUnit(WORKER, { restart: "always", restartSec: "0.1" });
    await badRelease({ worker: { exit_after: 0.6 } });
    const r = await h().run("verify.sh", inputs({ ZF_MIN_HEALTHY: 90 }));
    expect(r.code).toBe(1);
    expect(r.status?.reason).toMatch(/^worker (restarted during the min healthy time|left the active state)/);
    expect(r.durationMs).toBeLessThan(90_000); // failed on the restart, without sitting out the min healthy time
  });

  test("fails a worker that is not active before any check", async () => {
    const r = await h().run("verify.sh", inputs());
    expect(r.code).toBe(1);
    expect(r.status?.reason).toBe("worker is inactive/dead, not active");
  });

  test("fails when the verify command outlives ZF_STEP_TIMEOUT", async () => {
    h().setKnobs("doctor", { doctor_sleep: 90 });
    await h().startUnits();
    const r = await h().run("verify.sh", inputs({ ZF_STEP_TIMEOUT: 1 }));
    expect(r.code).toBe(1);
    expect(r.status?.reason).toBe("verify command timed out after 1s");
    expect(r.durationMs).toBeLessThan(90_000); // cut off at its timeout, not when the doctor finished
  });

  test.each(["run", "runRemote"] as const)("auto-revert restores the previous release, restarts both units on it, and still exits 1 (%s)", async (mode) => {
    await badRelease({ doctor: { doctor_exit: 1 } });
    const executorPid = h().unitState(EXECUTOR).MainPID;
    const r = await h()[mode]("verify.sh", inputs({ ZF_AUTO_REVERT: "true" }));
    expect(r.code).toBe(1);
    expect(r.status).toMatchObject({
      status: "fail", version: "2.0.0", reverted_to: "1.0.0", revert_healthy: "true",
      reason: "verify command failed (exit 1): [FAIL] sandbox backend",
    });
    expect(h().release("current")).toBe("1.0.0");
    expect(h().release("previous")).toBe("1.0.0");
    expect(fs.realpathSync(path.join(h().binDir, "zombied"))).toBe(path.join(h().zfRoot, "releases/1.0.0/zombied"));
    expect(h().unitState(EXECUTOR).MainPID).not.toBe(executorPid);
    expect(h().unitState(WORKER).ActiveState).toBe("active");
    expect(h().calls("zombied doctor")).toHaveLength(2);
  });

  test("auto-revert of a crash-looping release leaves the worker healthy on the previous one", async () => {
    h().writeUnit(WORKER, { restart: "always", restartSec: "0.1" });
    await badRelease({ worker: { exit_after: 0.5 } });
    const r = await h().run("verify.sh", inputs({ ZF_AUTO_REVERT: "true", ZF_MIN_HEALTHY: 2 }));
    expect(r.status).toMatchObject({ status: "fail", reverted_to: "1.0.0", revert_healthy: "true" });
    const pid = h().unitState(WORKER).MainPID;
    await new Promise((res) => setTimeout(res, 800)); // longer than the bad release lived
    expect(h().unitState(WORKER)).toMatchObject({ ActiveState: "active", MainPID: pid });
  });

  test("auto-revert says so when the previous release is unhealthy too", async () => {
    h().installRelease("1.0.0", { doctor: { doctor_exit: 1 } });
    await badRelease({ doctor: { doctor_exit: 1 } });
    const r = await h().run("verify.sh", inputs({ ZF_AUTO_REVERT: "true" }));
    expect(r.code).toBe(1);
    expect(r.status).toMatchObject({ reverted_to: "1.0.0", revert_healthy: "false" });
    expect(r.status?.reason).toContain("; after the revert: verify command failed (exit 1)");
  });

  test("auto-revert without a previous release fails without touching current", async () => {
    h().setKnobs("doctor", { doctor_exit: 1 });
    await h().startUnits();
    const r = await h().run("verify.sh", inputs({ ZF_AUTO_REVERT: "true" }));
    expect(r.code).toBe(1);
    expect(r.status).toMatchObject({ reverted_to: "none", reason: "verify command failed (exit 1): [FAIL] sandbox backend; no previous release to revert to" });
    expect(h().release("current")).toBe("1.0.0");
    expect(h().calls("systemctl restart")).toEqual([]);
  });

  test("a revert waits ZF_STOP_TIMEOUT, not the restart timeout, for a worker that drains on its stop signal", async () => {
    // The stop step's budget (the unit's TimeoutStopSec and a margin) is what a still-draining worker may need;
    // the plan counts that budget inside verify, so the script must allow it too.
    await badRelease({ doctor: { doctor_exit: 1 }, worker: { on_term: "drain", drain_seconds: 4 } });
    const r = await h().run("verify.sh", inputs({ ZF_AUTO_REVERT: "true", ZF_STEP_TIMEOUT: 3, ZF_STOP_TIMEOUT: 20 }));
    expect(r.status).toMatchObject({ status: "fail", reverted_to: "1.0.0", revert_healthy: "true" });
    expect(h().unitState(WORKER).ActiveState).toBe("active");
  });

  test("a revert drains the unhealthy worker first when drain inputs are given", async () => {
    await badRelease({ doctor: { doctor_exit: 1 } });
    const r = await h().run("verify.sh", inputs({ ZF_AUTO_REVERT: "true", ZF_DRAIN_DEADLINE: 2 }));
    expect(r.status).toMatchObject({ reverted_to: "1.0.0", revert_healthy: "true" });
    expect(h().calls("systemctl kill")).toEqual(["systemctl kill -s SIGUSR1 --kill-whom=main zombied-worker"]);
  });

  test.each([
    [{ ZF_VERIFY_COMMAND: undefined }, "missing input ZF_VERIFY_COMMAND"],
    [{ ZF_MIN_HEALTHY: "30s" }, "ZF_MIN_HEALTHY must be a number of seconds (got 30s)"],
    [{ ZF_AUTO_REVERT: "yes" }, "ZF_AUTO_REVERT must be one of: true false (got yes)"],
  ])("rejects bad input %o with exit 2", async (env, reason) => {
    const r = await h().run("verify.sh", { env: { ...inputs().env, ...env } });
    expect(r.code).toBe(2);
    expect(r.status?.reason).toBe(reason);
  });
});
