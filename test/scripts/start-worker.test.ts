// start-worker.sh: start (or restart) once the executor socket exists, wait for active, bounded.
import { describe, expect, test } from "vitest";
import { ENOUGH_S, EXECUTOR, useHarness, WORKER } from "./harness";
import { stepEnv } from "./step-env";

describe("start-worker.sh", () => {
  const h = useHarness();

  test.each(["run", "runRemote"] as const)("starts a stopped worker (%s)", async (mode) => {
    h().systemctl("start", EXECUTOR);
    const r = await h()[mode]("start-worker.sh", { env: stepEnv("start-worker", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ step: "start-worker", status: "ok", action: "started" });
    expect(h().unitState(WORKER).ActiveState).toBe("active");
    expect(h().calls("systemctl start zombied-worker")).toHaveLength(1);
  });

  test("restarts a worker that is already running", async () => {
    await h().startUnits();
    const before = h().unitState(WORKER).MainPID;
    const r = await h().run("start-worker.sh", { env: stepEnv("start-worker", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.status).toMatchObject({ status: "ok", action: "restarted" });
    expect(h().unitState(WORKER).MainPID).not.toBe(before);
  });

  test("clears a failed worker before starting it", async () => {
    h().systemctl("start", EXECUTOR);
    h().setUnitState(WORKER, { ActiveState: "failed", SubState: "failed" });
    const r = await h().run("start-worker.sh", { env: stepEnv("start-worker", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.status).toMatchObject({ status: "ok", action: "started" });
    expect(h().calls("systemctl reset-failed")).toEqual(["systemctl reset-failed zombied-worker"]);
  });

  test("waits for the executor socket before starting the worker", async () => {
    h().setKnobs(EXECUTOR, { socket_delay: 0.8 });
    h().systemctl("start", EXECUTOR);
    const r = await h().run("start-worker.sh", { env: stepEnv("start-worker", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.status?.status).toBe("ok");
    const socketAt = h().journal(EXECUTOR).find((e) => e.message === "executor.listening")!.us;
    const startedAt = h().journal(WORKER).find((e) => e.message.startsWith("Started"))!.us;
    expect(startedAt).toBeGreaterThan(socketAt);
  });

  test("without the executor socket it gives up at the deadline with exit 3 and does not start the worker", async () => {
    const r = await h().runPastDeadline("start-worker.sh", { env: stepEnv("start-worker", { ZF_STEP_TIMEOUT: 600 }), deadlineS: 600, seen: "zf_wait_ms" });
    expect(r.code).toBe(3);
    expect(r.status?.reason).toBe(`executor socket ${h().socket} missing after 600s (zombied-executor is inactive/dead)`);
    expect(h().calls("systemctl start")).toEqual([]);
  });

  test("fails with exit 1 when systemctl refuses the start", async () => {
    h().systemctl("start", EXECUTOR);
    h().failVerb("start", "Failed to start zombied-worker.service: Unit zombied-worker.service is masked.");
    const r = await h().run("start-worker.sh", { env: stepEnv("start-worker", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.code).toBe(1);
    expect(r.status?.reason).toContain("is masked");
  });
});
