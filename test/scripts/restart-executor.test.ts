// restart-executor.sh: restart, then active AND socket, bounded.
import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { ENOUGH_S, EXECUTOR, useHarness } from "./harness";
import { stepEnv } from "./step-env";

describe("restart-executor.sh", () => {
  const h = useHarness();

  test.each(["run", "runRemote"] as const)("restarts a running executor and waits for its socket (%s)", async (mode) => {
    await h().startUnits();
    const before = h().unitState(EXECUTOR).MainPID;
    const r = await h()[mode]("restart-executor.sh", { env: stepEnv("restart-executor", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ step: "restart-executor", status: "ok", socket: h().socket });
    expect(h().unitState(EXECUTOR).ActiveState).toBe("active");
    expect(h().unitState(EXECUTOR).MainPID).not.toBe(before);
    expect(fs.existsSync(h().socket)).toBe(true);
  });

  test("starts a stopped executor and waits for a socket that comes late", async () => {
    h().setKnobs(EXECUTOR, { socket_delay: 0.8 });
    const r = await h().run("restart-executor.sh", { env: stepEnv("restart-executor", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.status?.status).toBe("ok");
    expect(r.durationMs).toBeGreaterThanOrEqual(800);
  });

  test("an active executor without its socket hits the deadline: exit 3 with the state", async () => {
    h().setKnobs(EXECUTOR, { no_socket: 1 });
    // The deadline passes only once the script has seen the executor active: the state it must report.
    const r = await h().runPastDeadline("restart-executor.sh", {
      env: stepEnv("restart-executor", { ZF_STEP_TIMEOUT: 30 }), deadlineS: 30, seen: "zf_wait_ms",
    });
    expect(r.code).toBe(3);
    expect(r.status).toMatchObject({
      status: "fail", reason: `zombied-executor is active/running, socket ${h().socket} missing after 30s`,
    });
  });

  test("fails with exit 1 when systemctl refuses the restart", async () => {
    h().failVerb("restart");
    const r = await h().run("restart-executor.sh", { env: stepEnv("restart-executor", { ZF_STEP_TIMEOUT: ENOUGH_S }) });
    expect(r.code).toBe(1);
    expect(r.status?.reason).toContain("systemctl restart zombied-executor failed (exit 1)");
  });
});
