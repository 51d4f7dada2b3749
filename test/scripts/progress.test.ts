// Progress while a step waits: every long wait prints a line at least every ZF_PROGRESS_EVERY_S (lib.sh) with the
// host, the step, what it waits for and elapsed/budget. The scripts' clock is driven (harness runPaced): one move of
// the interval must bring exactly one line, so no test waits the interval in real time.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { EXECUTOR, SCRIPTS_DIR, WORKER, progressLines, useHarness } from "./harness";
import { stepEnv } from "./step-env";

const EVERY_S = Number(execFileSync("bash", ["-c", `ZF_HOST=progress-test; . '${path.join(SCRIPTS_DIR, "lib.sh")}'; printf %s "$ZF_PROGRESS_EVERY_S"`], { encoding: "utf8" }));
const EVERY_MS = EVERY_S * 1000;
const STEPS = 3;
// Every budget is far beyond the moves: the real time a loaded machine takes adds to the moved clock, and must not
// end a wait before its last line.
const LONG_S = 40 * EVERY_S;

/** Elapsed and budget seconds of each line, in order. */
function clock(lines: string[]): { elapsed: number; budget: number }[] {
  return lines.map((line) => {
    const m = /, (\d+)s\/(\d+)s$/.exec(line)!;
    return { elapsed: Number(m[1]), budget: Number(m[2]) };
  });
}

/** One more line per move of the interval, each later by at least one interval, all with the given budget. */
function expectOneLinePerInterval(progress: string[][], budget: number) {
  expect(progress.map((lines) => lines.length)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  const times = clock(progress.at(-1)!);
  times.forEach((t, i) => {
    expect(t.budget).toBe(budget);
    // The real time the step took adds to the moves, never takes away.
    expect(t.elapsed).toBeGreaterThanOrEqual((i + 1) * EVERY_S);
  });
}

describe("progress lines of a waiting step", () => {
  const h = useHarness();

  test("the interval is a whole number of seconds, at most 15", () => {
    expect(Number.isInteger(EVERY_S) && EVERY_S >= 1 && EVERY_S <= 15).toBe(true);
  });

  test("a drain says how many runs are still in flight, once per interval, under run.sh live and before its status line", async () => {
    h().setKnobs(WORKER, { on_drain: "stuck", in_flight: 2 });
    await h().startUnits();
    const deadline = LONG_S;
    const r = await h().runPaced("drain.sh", {
      env: stepEnv("drain", { ZF_DRAIN_DEADLINE: deadline }), remote: true, seen: "zf_drain_note 'worker.drain_progress in_flight=2'",
      steps: STEPS, everyMs: EVERY_MS, finalMs: deadline * 1000,
    });
    expect(r.code).toBe(3);
    expectOneLinePerInterval(r.progress, deadline);
    expect(r.progress.at(-1)![0]).toMatch(new RegExp(`^drain host=zf-test-1 waiting for the drain to complete \\(2 runs in flight\\), \\d+s/${LONG_S}s$`));
    // Streamed before the outcome (one more may come as the deadline passes), not repeated in the output after it.
    const out = r.stdout.split("\n");
    const firstStatus = out.findIndex((l) => l.startsWith("step="));
    expect(progressLines(out.slice(0, firstStatus).join("\n")).slice(0, STEPS)).toEqual(r.progress.at(-1));
    expect(progressLines(out.slice(firstStatus).join("\n"))).toEqual([]);
    expect(r.status).toMatchObject({ step: "drain", status: "fail", drain: "deadline" });
  });

  test("a run of the step script alone prints them on stderr, leaving stdout to the status line", async () => {
    h().setKnobs(WORKER, { on_drain: "stuck", in_flight: 1 });
    await h().startUnits();
    const r = await h().runPaced("drain.sh", {
      env: stepEnv("drain", { ZF_DRAIN_DEADLINE: LONG_S }), seen: "zf_drain_note 'worker.drain_progress in_flight=1'",
      steps: STEPS, everyMs: EVERY_MS, finalMs: LONG_S * 1000,
    });
    expectOneLinePerInterval(r.progress, LONG_S);
    expect(progressLines(r.stdout)).toEqual([]);
  });

  test("a decommission's drain names the decommission step", async () => {
    h().setKnobs(WORKER, { on_drain: "stuck", in_flight: 4 });
    await h().startUnits();
    const r = await h().runPaced("decommission.sh", {
      env: stepEnv("decommission", { ZF_DRAIN_DEADLINE: LONG_S, ZF_STEP_TIMEOUT: 30 }), seen: "zf_drain_note 'worker.drain_progress in_flight=4'",
      steps: STEPS, everyMs: EVERY_MS, finalMs: LONG_S * 1000,
    });
    expectOneLinePerInterval(r.progress, LONG_S);
    expect(r.progress.at(-1)![0]).toMatch(/^decommission host=zf-test-1 waiting for the drain to complete \(4 runs in flight\)/);
  });

  test("start-worker says it waits for the executor socket and the worker's state", async () => {
    const r = await h().runPaced("start-worker.sh", {
      env: stepEnv("start-worker", { ZF_STEP_TIMEOUT: LONG_S }), seen: "zf_wait_ms", steps: STEPS, everyMs: EVERY_MS, finalMs: LONG_S * 1000,
    });
    expect(r.code).toBe(3);
    expectOneLinePerInterval(r.progress, LONG_S);
    expect(r.progress.at(-1)![0]).toMatch(/^start-worker host=zf-test-1 waiting for the executor socket, then zombied-worker active \(socket missing, zombied-worker inactive\/dead\), \d+s\/\d+s$/);
  });

  test("restart-executor says it waits for the executor's socket", async () => {
    h().setKnobs(EXECUTOR, { no_socket: 1 });
    const r = await h().runPaced("restart-executor.sh", {
      env: stepEnv("restart-executor", { ZF_STEP_TIMEOUT: LONG_S }), seen: "zf_executor_ready", steps: STEPS, everyMs: EVERY_MS, finalMs: LONG_S * 1000,
    });
    expect(r.code).toBe(3);
    expectOneLinePerInterval(r.progress, LONG_S);
    expect(r.progress.at(-1)![0]).toMatch(/^restart-executor host=zf-test-1 waiting for zombied-executor active with its socket \(active\/running, socket missing\)/);
  });

  test("verify counts the min healthy time and passes at its end", async () => {
    await h().startUnits();
    const healthy = LONG_S;
    const r = await h().runPaced("verify.sh", {
      env: stepEnv("verify", { ZF_VERSION: "1.0.0", ZF_VERIFY_COMMAND: "zombied doctor worker", ZF_MIN_HEALTHY: healthy, ZF_STEP_TIMEOUT: 60 }),
      seen: "stays_healthy_waiting", steps: STEPS, everyMs: EVERY_MS, finalMs: healthy * 1000,
    });
    expect(r.code).toBe(0);
    expectOneLinePerInterval(r.progress, healthy);
    expect(r.progress.at(-1)![0]).toMatch(/^verify host=zf-test-1 waiting for the min healthy time: zombied-worker active with no restart \(active\/running, restarts 0\)/);
  });

  test("the canary gate watching logs only says so, and passes at the end of its time", async () => {
    await h().startUnits();
    const watch = LONG_S;
    const r = await h().runPaced("canary-gate.sh", {
      env: stepEnv("canary-gate", { ZF_MIN_HEALTHY: watch, ZF_CANARY_POLL: 0.05, ZF_ERROR_PATTERN: "level=error" }),
      seen: "watch_logs_only", steps: STEPS, everyMs: EVERY_MS, finalMs: watch * 1000,
    });
    expect(r.code).toBe(0);
    expectOneLinePerInterval(r.progress, watch);
    expect(r.progress.at(-1)![0]).toMatch(/^canary-gate host=zf-test-1 waiting for \d+s with no error line in the logs \(no metrics URL\)/);
  });

  test("a wait that ends within the interval prints no progress line", async () => {
    h().setKnobs(WORKER, { drain_seconds: 0.2 });
    await h().startUnits();
    const r = await h().runRemote("drain.sh", { env: stepEnv("drain", { ZF_DRAIN_DEADLINE: 60 }) });
    expect(r.status).toMatchObject({ status: "ok", drain: "complete" });
    expect(progressLines(r.stdout)).toEqual([]);
  });
});
