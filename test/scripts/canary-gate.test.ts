// canary-gate.sh, run for real: curl scrapes Prometheus text from a local HTTP server that plays a scripted
// sequence of counter values (one per scrape, the last repeating); the fake journal holds the units' logs.
import { afterEach, describe, expect, test } from "vitest";
import { EXECUTOR, Harness, HUNG_MS, useHarness, WORKER } from "./harness";
import { LocalServer, startServer } from "./local-server";

interface Counts {
  sessions: number;
  failures?: number;
  oom?: number;
  landlock?: number;
}

/** What zombied's API serves: `zombie_executor_<name>` series with labels, plus series that must not match. */
function metricsText(c: Counts): string {
  return [
    "# HELP zombie_executor_sessions_created_total Sessions created.",
    "# TYPE zombie_executor_sessions_created_total counter",
    `zombie_executor_sessions_created_total{worker="zf-test-1",sandbox="bubblewrap"} ${c.sessions - 5}`,
    'zombie_executor_sessions_created_total{worker="zf-test-1",sandbox="none"} 5',
    `zombie_executor_failures_total ${c.failures ?? 2}`,
    `zombie_executor_oom_kills_total{cgroup="run"} ${c.oom ?? 0}`,
    `zombie_executor_landlock_denials_total ${c.landlock ?? 1} 1767225600000`,
    // Not the counters: a longer name, and one without the `_` boundary.
    "zombie_executor_sessions_created_total_seconds 999",
    `zombie_executorfailures_total ${(c.failures ?? 2) * 7 + 100}`,
    "",
  ].join("\n");
}

const BASE: Counts = { sessions: 40 };
const GATE_ENV = {
  ZF_CANARY_RUNS: 3,
  ZF_CANARY_DEADLINE: 4,
  ZF_CANARY_POLL: 0.3,
  ZF_ON_SHORTFALL: "fail",
  ZF_COUNTER_SESSIONS: "sessions_created_total",
  ZF_COUNTER_FAILURES: "failures_total",
  ZF_COUNTER_OOM: "oom_kills_total",
  ZF_COUNTER_LANDLOCK: "landlock_denials_total",
  ZF_ERROR_PATTERN: "level=error|error_code=",
  ZF_MIN_HEALTHY: 1,
};

describe("canary-gate.sh", () => {
  const h = useHarness();
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Serves `steps[n]` to the n-th scrape; `onScrape` runs first (e.g. to log a line mid-gate). */
  async function serveSteps(steps: Counts[], onScrape: (n: number) => void = () => {}): Promise<string> {
    server = await startServer((_path, n) => {
      onScrape(n);
      return { body: metricsText(steps[Math.min(n, steps.length - 1)]) };
    });
    return `${server.url}/metrics`;
  }

  const gate = (env: Record<string, string | number | undefined>, harness: Harness = h()) =>
    harness.run("canary-gate.sh", { env: { ...GATE_ENV, ...env } });

  test("passes once 3 new runs succeeded with no bad counter, summing label variants", async () => {
    const url = await serveSteps([BASE, { sessions: 41 }, { sessions: 43 }]);
    // As the program runs it: from the installed bundle, through run.sh.
    const res = await h().runRemote("canary-gate.sh", { env: { ...GATE_ENV, ZF_METRICS_URL: url } });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({
      step: "canary-gate", status: "ok", sessions: "+3", failures: "+0", oom: "+0", landlock: "+0", error_lines: "0",
    });
    expect(server?.requests.length).toBe(3);
  });

  test("fails on a single new failure and prints the deltas", async () => {
    const url = await serveSteps([BASE, { sessions: 42, failures: 3 }, { sessions: 45, failures: 3 }]);
    const res = await gate({ ZF_METRICS_URL: url });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "a bad counter rose on the canary", sessions: "+2", failures: "+1", oom: "+0", landlock: "+0" });
  });

  test.each([
    ["an OOM kill", { sessions: 41, oom: 1 }, { oom: "+1" }],
    ["a landlock denial", { sessions: 41, landlock: 3 }, { landlock: "+2" }],
  ])("fails on %s", async (_name, after, delta) => {
    const url = await serveSteps([BASE, after]);
    const res = await gate({ ZF_METRICS_URL: url });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", ...delta });
  });

  test("fails with exit 3 when too few runs happened by the deadline", async () => {
    const url = await serveSteps([BASE, { sessions: 42 }]);
    const res = await gate({ ZF_METRICS_URL: url, ZF_CANARY_DEADLINE: 2 });
    expect(res.code).toBe(3);
    expect(res.status).toMatchObject({ status: "fail", reason: "fewer than 3 new sessions within 2s", sessions: "+2" });
  });

  test("proceeds on a shortfall when configured to", async () => {
    const url = await serveSteps([BASE, { sessions: 41 }]);
    const res = await gate({ ZF_METRICS_URL: url, ZF_CANARY_DEADLINE: 2, ZF_ON_SHORTFALL: "proceed" });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ status: "ok", shortfall: "true", sessions: "+1" });
  });

  test("a bad counter still fails a gate configured to proceed on shortfall", async () => {
    const url = await serveSteps([BASE, { sessions: 40, failures: 5 }]);
    const res = await gate({ ZF_METRICS_URL: url, ZF_ON_SHORTFALL: "proceed" });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", failures: "+3" });
  });

  test.each([WORKER, EXECUTOR])("fails on a new error line in the %s journal", async (unit) => {
    const url = await serveSteps([BASE, { sessions: 41 }, { sessions: 42 }, { sessions: 43 }], (n) => {
      if (n === 1) h().log(unit, 'ts_ms=1 level=error scope=executor msg="sandbox spawn failed" error_code=UZ-EXEC-013');
    });
    const res = await gate({ ZF_METRICS_URL: url });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "new log lines match the error pattern", error_lines: "1" });
    expect(res.stdout).toContain("new error line: ts_ms=1 level=error");
  });

  test("ignores an error line logged before the gate began", async () => {
    h().log(WORKER, "ts_ms=0 level=error scope=worker msg=\"old failure\" error_code=UZ-OLD");
    h().log(WORKER, "worker.threads_started concurrency=2");
    const url = await serveSteps([BASE, { sessions: 43 }]);
    const res = await gate({ ZF_METRICS_URL: url });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ status: "ok", sessions: "+3", error_lines: "0" });
    expect(h().calls("journalctl").slice(0, 2)).toEqual([
      "journalctl -q --no-pager -u zombied-worker -n 1 --show-cursor -o cat",
      "journalctl -q --no-pager -u zombied-executor -n 1 --show-cursor -o cat",
    ]);
  });

  test("replaces {host} in the metrics URL with the worker name", async () => {
    const scrapes = new Map<string, number>();
    server = await startServer((urlPath) => {
      const n = scrapes.get(urlPath) ?? 0;
      scrapes.set(urlPath, n + 1);
      return { body: metricsText(n === 0 ? BASE : { sessions: 43 }) };
    });
    const url = `${server.url}/{host}/metrics`;
    expect((await gate({ ZF_METRICS_URL: url })).status).toMatchObject({ status: "ok", sessions: "+3" });
    expect([...scrapes.keys()]).toEqual(["/zf-test-1/metrics"]);
  });

  test("fails when a counter goes down, since the deltas can no longer be trusted", async () => {
    const url = await serveSteps([BASE, { sessions: 12 }]);
    const res = await gate({ ZF_METRICS_URL: url });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", sessions: "-28" });
  });

  test("fails when the metrics cannot be read at the start", async () => {
    const closed = await startServer(() => ({}));
    const url = `${closed.url}/metrics`;
    await closed.close();
    const res = await gate({ ZF_METRICS_URL: url });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "could not read the metrics URL" });
  });

  test("without a metrics URL watches only the logs for ZF_MIN_HEALTHY and says so", async () => {
    const res = await gate({ ZF_METRICS_URL: undefined, ZF_MIN_HEALTHY: 1 });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ status: "ok", mode: "logs-only", metrics: "none", watched: "1s" });
  });

  test("without a metrics URL still fails on a new error line", async () => {
    const running = gate({ ZF_METRICS_URL: undefined, ZF_MIN_HEALTHY: 3 });
    // Two cursor queries (one per unit), then the first look at the logs: the cursors are taken by then.
    await h().waitFor(() => h().calls("journalctl").length > 2, HUNG_MS, "the first log check");
    h().log(EXECUTOR, "level=error msg=\"executor lease lost\"");
    const res = await running;
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", error_lines: "1" });
  });

  test.each([
    [{ ZF_ON_SHORTFALL: "maybe" }, "ZF_ON_SHORTFALL must be fail or proceed (got maybe)"],
    [{ ZF_COUNTER_OOM: "oom kills" }, "ZF_COUNTER_OOM is not a metric name (got oom kills)"],
    [{ ZF_CANARY_RUNS: 0 }, "ZF_CANARY_RUNS must be at least 1"],
    [{ ZF_CANARY_POLL: "0.0" }, "ZF_CANARY_POLL must be a positive number of seconds (got 0.0)"],
    [{ ZF_ERROR_PATTERN: "level=(error" }, "ZF_ERROR_PATTERN is not an extended regular expression"],
  ])("rejects bad input %o with exit 2", async (env, reason) => {
    const res = await gate({ ZF_METRICS_URL: "http://127.0.0.1:9/metrics", ...env });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason });
  });
});
