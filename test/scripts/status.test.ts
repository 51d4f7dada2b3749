// status.sh against the fake systemd: the one JSON object `npm run fleet -- status` reads from each host.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { EXECUTOR, useHarness, WORKER } from "./harness";

interface HostReport {
  host: string; now: number; current: string | null; previous: string | null;
  units: Record<"executor" | "worker", { state: string; sub: string; since: string | null; restarts: number | null }>;
  draining: boolean; inFlight: number | null; drainLine: string | null;
  lastStep: { step: string; status: string; line: string | null; at: number } | null;
}

describe("status.sh", () => {
  const h = useHarness();
  const report = async (env: Record<string, string> = {}) => {
    const r = await h().run("status.sh", { env: { ZF_DRAIN_COMPLETE_LOG: "drain complete, 0 active runs", ZF_STEP_TIMEOUT: "5", ...env } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    return JSON.parse(r.stdout) as HostReport;
  };
  const writeLog = (step: string, text: string, mtimeS: number) => {
    const file = path.join(h().zfRoot, "log", `${step}.log`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    fs.utimesSync(file, mtimeS, mtimeS);
  };

  test("reports both releases, both units active since their start, not draining, and no step yet", async () => {
    h().installRelease("2.0.0");
    h().setPrevious("1.0.0");
    h().setCurrent("2.0.0");
    await h().startUnits();
    const r = await report();
    expect(r).toMatchObject({ host: "zf-test-1", current: "2.0.0", previous: "1.0.0", draining: false, inFlight: null, lastStep: null });
    for (const unit of ["executor", "worker"] as const) {
      expect(r.units[unit]).toMatchObject({ state: "active", restarts: 0 });
      expect(Number.isNaN(Date.parse(r.units[unit].since ?? ""))).toBe(false);
    }
    expect(Math.abs(r.now - Date.now() / 1000)).toBeLessThan(60);
  });

  test("reports a worker that drains, with the runs it still holds, until it completes", async () => {
    // The worker's drain lines are written here, one by one: a stuck stand-in keeps logging progress and would
    // race the completion line below.
    await h().startUnits();
    h().log(WORKER, "worker.drain_start in_flight=3");
    const draining = await report();
    expect(draining).toMatchObject({ draining: true, inFlight: 3 });
    expect(draining.drainLine).toMatch(/^worker\.drain_(start|progress) in_flight=3$/);
    h().log(WORKER, "drain complete, 0 active runs");
    expect(await report()).toMatchObject({ draining: false, inFlight: 0 });
  });

  test("a drain line from before the worker's current start does not count", async () => {
    h().log(WORKER, "worker.drain_start in_flight=2");
    await new Promise((r) => setTimeout(r, 1100)); // --since has second resolution
    await h().startUnits();
    expect(await report()).toMatchObject({ draining: false, inFlight: null, drainLine: null });
  });

  test("reports stopped and failed units as they are, and no release on a bare host", async () => {
    fs.rmSync(path.join(h().zfRoot, "current"));
    h().setUnitState(EXECUTOR, { ActiveState: "failed", SubState: "failed", NRestarts: 4 });
    const r = await report();
    expect(r).toMatchObject({ current: null, previous: null, draining: false });
    expect(r.units.executor).toMatchObject({ state: "failed", sub: "failed", restarts: 4 });
    expect(r.units.worker).toMatchObject({ state: "inactive" });
  });

  test("the last step is the newest step log, with its status line and time", async () => {
    writeLog("deploy", "downloading\nstep=deploy host=zf-test-1 status=ok version=2.0.0\n", 1_700_000_000);
    writeLog("verify", "step=verify host=zf-test-1 status=fail version=2.0.0 reverted_to=1.0.0 reason=\"doctor \\ failed\"\n", 1_700_000_100);
    const r = await report();
    expect(r.lastStep).toEqual({
      step: "verify", status: "fail", at: 1_700_000_100,
      line: 'step=verify host=zf-test-1 status=fail version=2.0.0 reverted_to=1.0.0 reason="doctor \\ failed"',
    });
  });

  test("a step log without a status line is a step still running, or one that ended without saying how", async () => {
    writeLog("drain", "waiting\n", Math.floor(Date.now() / 1000));
    h().addCommand("pgrep", '[[ "$*" == *"/run\\.sh drain"* ]]');
    expect((await report()).lastStep).toMatchObject({ step: "drain", status: "running", line: null });
    h().addCommand("pgrep", "exit 1");
    expect((await report()).lastStep).toMatchObject({ step: "drain", status: "unknown" });
  });

  test("prints no secret of the host's .env", async () => {
    const marker = "MARKER-STATUS-5e1d";
    fs.writeFileSync(path.join(h().zfRoot, ".env"), `DATABASE_URL_WORKER=postgres://u:${marker}@db/z\n`, { mode: 0o600 });
    fs.writeFileSync(h().env.ZF_ENV_FILE, `DATABASE_URL_WORKER=postgres://u:${marker}@db/z\n`, { mode: 0o600 });
    await h().startUnits();
    const r = await h().run("status.sh", { env: { ZF_TRACE: "1", ZF_DRAIN_COMPLETE_LOG: "drain complete, 0 active runs", ZF_STEP_TIMEOUT: "5" } });
    expect(r.stdout + r.stderr).not.toContain(marker);
  });
});
