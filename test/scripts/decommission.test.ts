// decommission.sh: drain (same contract as drain.sh), stop + disable both units, tailscale logout; idempotent.
import { describe, expect, test } from "vitest";
import { ENOUGH_S, EXECUTOR, HUNG_MS, useHarness, WORKER } from "./harness";
import { stepEnv } from "./step-env";

const inputs = (extra: Record<string, string | number> = {}) => ({
  env: stepEnv("decommission", { ZF_DRAIN_DEADLINE: ENOUGH_S, ZF_STEP_TIMEOUT: ENOUGH_S, ZF_TAILSCALE: "true", ZF_LOGOUT_DELAY: 0, ...extra }),
});

/** The actions a run reports, minus a stop of the worker that raced its own exit after the drain (harmless). */
const actions = (text = "") => text.split(" ").filter((a) => a && !(a === "stopped:zombied-worker" && text.startsWith("drained ")));

describe("decommission.sh", () => {
  const h = useHarness({ standins: ["systemctl", "journalctl", "tailscale"] });

  async function enrolledHost() {
    h().systemctl("enable", EXECUTOR, WORKER);
    h().sh("tailscale up");
    await h().startUnits();
  }

  test.each(["run", "runRemote"] as const)("drains, stops and disables both units, logs out of the tailnet (%s)", async (mode) => {
    await enrolledHost();
    const r = await h()[mode]("decommission.sh", inputs());
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ step: "decommission", status: "ok", drain: "complete" });
    expect(actions(r.status?.actions)).toEqual(["drained", "disabled:zombied-worker", "stopped:zombied-executor", "disabled:zombied-executor", "tailscale-logout"]);
    for (const unit of [WORKER, EXECUTOR]) expect(h().unitState(unit)).toMatchObject({ ActiveState: "inactive", UnitFileState: "disabled" });
    expect(h().calls("tailscale logout")).toHaveLength(1);
    expect(h().calls("systemctl kill")).toEqual(["systemctl kill -s SIGUSR1 --kill-whom=main zombied-worker"]);
  });

  test("with ZF_LOGOUT_DELAY it returns first and logs out of the tailnet a moment later (its SSH runs over it)", async () => {
    await enrolledHost();
    const r = await h().run("decommission.sh", inputs({ ZF_LOGOUT_DELAY: 1 }));
    expect(r.code).toBe(0);
    expect(actions(r.status?.actions)).toContain("tailscale-logout-in-1s");
    expect(h().calls("tailscale logout")).toHaveLength(0);
    const deadline = Date.now() + HUNG_MS;
    while (h().calls("tailscale logout").length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(h().calls("tailscale logout")).toHaveLength(1);
  });

  test("a second run on a decommissioned host is a skip", async () => {
    await enrolledHost();
    expect((await h().run("decommission.sh", inputs())).status?.status).toBe("ok");
    const r = await h().run("decommission.sh", inputs());
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ status: "skip", reason: "already decommissioned" });
    expect(h().calls("tailscale logout")).toHaveLength(1);
  });

  test("leaves the tailnet alone when ZF_TAILSCALE=false", async () => {
    await enrolledHost();
    const r = await h().run("decommission.sh", inputs({ ZF_TAILSCALE: "false" }));
    expect(r.status?.actions).not.toContain("tailscale");
    expect(h().calls("tailscale")).toEqual(["tailscale up"]);
  });

  test("a host without tailscale installed is fine", async () => {
    h().sh(`rm "${h().binPath}/tailscale"`);
    h().systemctl("enable", EXECUTOR, WORKER);
    await h().startUnits();
    const r = await h().run("decommission.sh", inputs());
    expect(r.status?.status).toBe("ok");
    expect(actions(r.status?.actions)).toEqual(["drained", "disabled:zombied-worker", "stopped:zombied-executor", "disabled:zombied-executor"]);
  });

  test("a drain that passes its deadline fails with exit 3 and leaves both units running", async () => {
    h().setKnobs(WORKER, { on_drain: "stuck" });
    await enrolledHost();
    const r = await h().runPastDeadline("decommission.sh", {
      ...inputs({ ZF_DRAIN_DEADLINE: 30 }), deadlineS: 30, seen: "zf_drain_note 'worker.drain_progress in_flight=2'",
    });
    expect(r.code).toBe(3);
    expect(r.status).toMatchObject({ status: "fail", drain: "deadline", in_flight: "2" });
    expect(h().unitState(EXECUTOR).ActiveState).toBe("active");
    expect(h().calls("tailscale logout")).toEqual([]);
  });

  test("with onDrainDeadline=proceed a stuck worker is stopped anyway", async () => {
    h().writeUnit(WORKER, { timeoutStopSec: "0.5" }); // its stuck run ignores SIGTERM: systemd kills it
    h().setKnobs(WORKER, { on_drain: "stuck" });
    await enrolledHost();
    const r = await h().runPastDeadline("decommission.sh", {
      ...inputs({ ZF_DRAIN_DEADLINE: 30, ZF_ON_DRAIN_DEADLINE: "proceed" }), deadlineS: 30,
      seen: "zf_drain_note 'worker.drain_progress in_flight=2'",
    });
    expect(r.code).toBe(0);
    expect(r.status?.actions).toBe("drain-deadline-passed stopped:zombied-worker disabled:zombied-worker stopped:zombied-executor disabled:zombied-executor tailscale-logout");
  });

  test("a crash-looping worker is stopped instead of drained", async () => {
    h().setKnobs(WORKER, { crash: 1 });
    h().writeUnit(WORKER, { restart: "always", restartSec: "1" });
    await enrolledHost();
    await h().waitFor(() => h().unitState(WORKER).SubState === "auto-restart", HUNG_MS, "auto-restart");
    const r = await h().run("decommission.sh", inputs());
    expect(r.status).toMatchObject({ status: "ok", drain: "stopped" });
    expect(r.status?.actions).toMatch(/^stopped:zombied-worker disabled:zombied-worker/);
    expect(h().calls("systemctl kill")).toEqual([]);
  });

  test("fails with exit 1 when a unit cannot be disabled", async () => {
    await enrolledHost();
    h().failVerb("disable", "Failed to disable unit: Access denied");
    const r = await h().run("decommission.sh", inputs());
    expect(r.code).toBe(1);
    expect(r.status).toMatchObject({ status: "fail", reason: "systemctl disable zombied-worker failed: Failed to disable unit: Access denied" });
    expect(actions(r.status?.actions)).toEqual(["drained"]);
  });
});
