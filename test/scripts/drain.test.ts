// drain.sh against the fake systemd: a real background worker, a real journal follow.
import { describe, expect, test } from "vitest";
import { ENOUGH_S, HUNG_MS, useHarness, WORKER } from "./harness";
import { stepEnv } from "./step-env";

const COMPLETE = "drain complete, 0 active runs";
// Drains expected to finish get a deadline they never reach; the deadline tests move the scripts' clock past theirs.
const inputs = (extra: Record<string, string | number | undefined> = {}) => ({ env: stepEnv("drain", { ZF_DRAIN_DEADLINE: ENOUGH_S, ...extra }) });
const DEADLINE_S = 30;

describe("drain.sh", () => {
  const h = useHarness();

  test.each(["run", "runRemote"] as const)("drains a running worker until its completion line (%s)", async (mode) => {
    h().setKnobs(WORKER, { drain_seconds: 0.4 });
    await h().startUnits();
    const r = await h()[mode]("drain.sh", inputs());
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ step: "drain", host: "zf-test-1", status: "ok", drain: "complete" });
    expect(r.status?.elapsed).toMatch(/^\d+\.\d{3}s$/);
    expect(h().calls("systemctl kill")).toEqual(["systemctl kill -s SIGUSR1 --kill-whom=main zombied-worker"]);
  });

  test("fails when the worker dies of the drain signal instead of draining (a build that drains on SIGTERM)", async () => {
    h().setKnobs(WORKER, { drain_signal: "TERM" }); // SIGUSR1 is then unhandled: it kills the process
    await h().startUnits();
    const r = await h().run("drain.sh", inputs());
    expect(r.code).toBe(1);
    expect(r.status).toMatchObject({ status: "fail", drain: "died", exit: "code=2 status=10" });
    expect(r.status?.reason).toMatch(/died of the drain signal instead of draining/);
  });

  test("a clean exit 0 without the completion line still counts as drained", async () => {
    h().setKnobs(WORKER, { on_drain: "exit" });
    await h().startUnits();
    const r = await h().run("drain.sh", inputs());
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ status: "ok", drain: "exited" });
  });

  test("a worker that exits on drain is not respawned (Restart=on-failure)", async () => {
    await h().startUnits();
    const r = await h().run("drain.sh", inputs());
    expect(r.status?.status).toBe("ok");
    await new Promise((res) => setTimeout(res, 800)); // four RestartSec periods of the test unit
    expect(h().unitState(WORKER)).toMatchObject({ ActiveState: "inactive", NRestarts: 0, MainPID: 0 });
  });

  test("notices the completion line while the worker keeps running (the line alone ends the drain)", async () => {
    h().setKnobs(WORKER, { drain_seconds: 1, after_complete: "stay" });
    await h().startUnits();
    const r = await h().run("drain.sh", inputs());
    // "complete", not "exited" nor "deadline": the worker is still running, so only the line can have ended it.
    expect(r.status).toMatchObject({ status: "ok", drain: "complete" });
    const line = h().journal(WORKER).find((e) => e.message === COMPLETE);
    expect(line).toBeDefined();
    console.log(`drain noticed the completion line ${r.endedAt - line!.us / 1000} ms after it was logged`);
    expect(h().unitState(WORKER).ActiveState).toBe("active");
  });

  test("a completion line logged before the cursor does not count", async () => {
    h().setKnobs(WORKER, { on_drain: "stuck" });
    await h().startUnits();
    h().log(WORKER, COMPLETE); // an old drain's line, as in zombied's own deploy script bug
    const r = await h().runPastDeadline("drain.sh", {
      ...inputs({ ZF_DRAIN_DEADLINE: DEADLINE_S }), deadlineS: DEADLINE_S, seen: "zf_drain_note 'worker.drain_progress",
    });
    expect(r.code).toBe(3);
    expect(r.status).toMatchObject({ status: "fail", drain: "deadline" });
  });

  test("deadline with onDrainDeadline=fail: exit 3 and the state it gave up in", async () => {
    h().setKnobs(WORKER, { on_drain: "stuck", in_flight: 3 });
    await h().startUnits();
    const r = await h().runPastDeadline("drain.sh", {
      ...inputs({ ZF_DRAIN_DEADLINE: 30.5, ZF_ON_DRAIN_DEADLINE: "fail" }),
      deadlineS: 30.5, seen: "zf_drain_note 'worker.drain_progress in_flight=3'",
    });
    expect(r.code).toBe(3);
    expect(r.status).toMatchObject({
      status: "fail", drain: "deadline", state: "active/running", in_flight: "3", last: "worker.drain_progress in_flight=3",
      reason: "drain on zf-test-1 did not complete within 30.5s (3 runs in flight)",
    });
  });

  test("deadline with onDrainDeadline=proceed: ok with deadline=passed", async () => {
    h().setKnobs(WORKER, { on_drain: "stuck" });
    await h().startUnits();
    const r = await h().runPastDeadline("drain.sh", {
      ...inputs({ ZF_DRAIN_DEADLINE: DEADLINE_S, ZF_ON_DRAIN_DEADLINE: "proceed" }),
      deadlineS: DEADLINE_S, seen: "zf_drain_note 'worker.drain_progress in_flight=2'",
    });
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ status: "ok", deadline: "passed", drain: "deadline", in_flight: "2" });
  });

  test("a worker that ignores the signal hits the deadline", async () => {
    h().setKnobs(WORKER, { on_drain: "ignore" });
    await h().startUnits();
    const r = await h().runPastDeadline("drain.sh", {
      ...inputs({ ZF_DRAIN_DEADLINE: DEADLINE_S }), deadlineS: DEADLINE_S, seen: "zf_drain_note 'worker: signal ignored'",
    });
    expect(r.code).toBe(3);
    expect(r.status).toMatchObject({ status: "fail", in_flight: "unknown", last: "worker: signal ignored" });
  });

  test("the main process exiting without the line ends the drain", async () => {
    h().setKnobs(WORKER, { on_drain: "exit" });
    await h().startUnits();
    const r = await h().run("drain.sh", inputs());
    expect(r.status).toMatchObject({ status: "ok", drain: "exited" }); // "exited" before a deadline it never reached
  });

  test("honours another build's signal and completion line (SIGTERM, worker.drain_complete)", async () => {
    h().setKnobs(WORKER, { drain_signal: "TERM", complete_log: "worker.drain_complete status=drained elapsed_ms=300", after_complete: "stay" });
    await h().startUnits();
    const r = await h().run("drain.sh", inputs({ ZF_DRAIN_SIGNAL: "SIGTERM", ZF_DRAIN_COMPLETE_LOG: "worker.drain_complete" }));
    expect(r.status).toMatchObject({ status: "ok", drain: "complete" });
    expect(h().calls("systemctl kill")).toEqual(["systemctl kill -s SIGTERM --kill-whom=main zombied-worker"]);
  });

  test("follows from the start when the worker has no journal entries yet (no cursor)", async () => {
    h().setKnobs(WORKER, { drain_seconds: 0.3 });
    await h().startUnits();
    h().sh(`: > "$ZF_FAKE/journal/${WORKER}.log"`);
    const r = await h().run("drain.sh", inputs());
    expect(r.status).toMatchObject({ status: "ok", drain: "complete" });
  });

  test("skips a worker that is not running, without signalling it", async () => {
    const r = await h().run("drain.sh", inputs());
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ status: "skip", drain: "not-running", state: "inactive/dead" });
    expect(h().calls("systemctl kill")).toEqual([]);
  });

  test("a crash-looping worker is stopped, then the drain skips", async () => {
    h().installRelease("2.0.0", { worker: { crash: 1 } });
    h().setCurrent("2.0.0");
    h().writeUnit(WORKER, { restart: "always", restartSec: "1" });
    await h().startUnits();
    await h().waitFor(() => h().unitState(WORKER).SubState === "auto-restart", HUNG_MS, "auto-restart");
    const r = await h().run("drain.sh", inputs());
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ status: "skip", drain: "stopped", state: "activating/auto-restart" });
    expect(h().calls("systemctl kill")).toEqual([]);
    await new Promise((res) => setTimeout(res, 1200)); // past RestartSec: it must not come back
    expect(h().unitState(WORKER).ActiveState).toBe("inactive");
  });

  test("fails with exit 1 when the signal is refused", async () => {
    await h().startUnits();
    h().failVerb("kill", "Failed to kill unit zombied-worker.service: Access denied");
    const r = await h().run("drain.sh", inputs());
    expect(r.code).toBe(1);
    expect(r.status?.reason).toContain("Access denied");
  });

  test.each([
    [{ ZF_DRAIN_DEADLINE: undefined }, "missing input ZF_DRAIN_DEADLINE"],
    [{ ZF_DRAIN_DEADLINE: "6m" }, "ZF_DRAIN_DEADLINE must be a number of seconds (got 6m)"],
    [{ ZF_ON_DRAIN_DEADLINE: "ignore" }, "ZF_ON_DRAIN_DEADLINE must be one of: fail proceed (got ignore)"],
    [{ ZF_DRAIN_SIGNAL: "usr1; reboot" }, "ZF_DRAIN_SIGNAL must be a signal name like SIGUSR1 (got usr1; reboot)"],
  ])("rejects bad input %o with exit 2", async (env, reason) => {
    const r = await h().run("drain.sh", inputs({ ZF_DRAIN_DEADLINE: 3, ...env }));
    expect(r.code).toBe(2);
    expect(r.status).toMatchObject({ status: "fail", reason });
  });
});
