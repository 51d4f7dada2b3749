import { describe, expect, it, test } from "vitest";
import {
  EXECUTOR_SOCKET, EXECUTOR_UNIT, STOP_MARGIN_SECONDS, WORKER_ENV_FILE, WORKER_UNIT, renderUnits,
} from "../../host/units";
import { fleetConfig } from "../fixtures/minimal-fleet-config";

type Directives = Record<string, Record<string, string[]>>;

/** Section → key → every value of that key, in order; comments and blank lines skipped. */
function directives(text: string): Directives {
  const out: Directives = {};
  let section = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1];
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 1) throw new Error(`not a directive in a section: ${JSON.stringify(line)}`);
    (out[section][line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

const worker = (overrides: Record<string, unknown> = {}) => directives(renderUnits(fleetConfig(overrides)).worker.text);
const executor = (overrides: Record<string, unknown> = {}) => directives(renderUnits(fleetConfig(overrides)).executor.text);

describe("zombied-worker.service", () => {
  it("is named zombied-worker.service and runs the installed release's worker", () => {
    const units = renderUnits(fleetConfig());
    expect(units.worker.name).toBe(WORKER_UNIT);
    expect(WORKER_UNIT).toBe("zombied-worker.service");
    expect(worker().Service.ExecStart).toEqual(["/opt/zombie/current/zombied worker"]);
  });

  it("is not respawned after it drained and exited 0 (Restart=on-failure, not always)", () => {
    expect(worker().Service.Restart).toEqual(["on-failure"]);
  });

  it("requires the executor and starts after it", () => {
    const unit = worker().Unit;
    expect(unit.Requires).toEqual([EXECUTOR_UNIT]);
    expect(unit.After).toEqual([EXECUTOR_UNIT]);
  });

  test.each([
    [true, [EXECUTOR_UNIT]],
    [false, undefined],
  ])("with units.workerPartOfExecutor=%s has PartOf=%j", (partOf, expected) => {
    expect(worker({ units: { workerPartOfExecutor: partOf } }).Unit.PartOf).toEqual(expected);
  });

  test.each([
    ["6m", 360],
    ["90s", 90],
    ["1h", 3600],
    ["1h30m", 5400],
  ])("with drainDeadline %s stops within deadline + margin, and drains for exactly the deadline", (deadline, seconds) => {
    // RUN_TIMEOUT_MS at 1 min: a drain deadline may not be shorter than the run timeout (config/schema.ts).
    const service = worker({ rollout: { drainDeadline: deadline }, env: { RUN_TIMEOUT_MS: "60000" } }).Service;
    expect(service.TimeoutStopSec).toEqual([String(seconds + STOP_MARGIN_SECONDS)]);
    expect(Number(service.TimeoutStopSec[0])).toBeGreaterThan(seconds);
    expect(service.Environment).toContain(`DRAIN_TIMEOUT_MS=${seconds * 1000}`);
  });

  test.each(["SIGUSR1", "SIGTERM", "SIGINT", "SIGHUP"])("makes a stop a drain: KillSignal=%s, mixed kill mode", (signal) => {
    const service = worker({ drain: { signal } }).Service;
    expect(service.KillSignal).toEqual([signal]);
    expect(service.KillMode).toEqual(["mixed"]);
  });

  it("reads the optional env file after its defaults, so the file wins", () => {
    const service = worker().Service;
    expect(service.EnvironmentFile).toEqual([`-${WORKER_ENV_FILE}`]);
    expect(service.Environment).toEqual(expect.arrayContaining([
      "WORKER_CONCURRENCY=2", "RUN_TIMEOUT_MS=300000", "SANDBOX_BACKEND=bubblewrap", `EXECUTOR_SOCKET_PATH=${EXECUTOR_SOCKET}`,
    ]));
    const text = renderUnits(fleetConfig()).worker.text;
    expect(text.lastIndexOf("Environment=")).toBeLessThan(text.indexOf("EnvironmentFile="));
  });

  it("is enabled into multi-user.target", () => {
    expect(worker().Install.WantedBy).toEqual(["multi-user.target"]);
  });
});

describe("zombied-executor.service", () => {
  it("runs the installed release's executor, always restarted", () => {
    const service = executor().Service;
    expect(renderUnits(fleetConfig()).executor.name).toBe("zombied-executor.service");
    expect(service.ExecStart).toEqual(["/opt/zombie/current/zombied-executor"]);
    expect(service.Restart).toEqual(["always"]);
  });

  it("owns /run/zombie, removed on every stop, and tells the executor its socket path there", () => {
    const service = executor().Service;
    expect(service.RuntimeDirectory).toEqual(["zombie"]);
    expect(service.RuntimeDirectoryPreserve).toEqual(["no"]);
    expect(service.Environment).toContain(`EXECUTOR_SOCKET_PATH=${EXECUTOR_SOCKET}`);
    expect(EXECUTOR_SOCKET).toBe("/run/zombie/executor.sock");
  });

  it("counts as started only once its socket exists, within a bounded start timeout", () => {
    const service = executor().Service;
    expect(service.ExecStartPost).toHaveLength(1);
    expect(service.ExecStartPost[0]).toContain(`-S ${EXECUTOR_SOCKET}`);
    expect(Number(service.TimeoutStartSec[0])).toBeGreaterThan(0);
  });

  it("keeps the shipped hardening and never reads the worker's secrets", () => {
    const service = executor().Service;
    expect(service.NoNewPrivileges).toEqual(["yes"]);
    expect(service.ProtectSystem).toEqual(["strict"]);
    expect(service.ProtectHome).toEqual(["yes"]);
    expect(service.ReadWritePaths).toEqual(["/run/zombie /sys/fs/cgroup /tmp"]);
    expect(service.EnvironmentFile).toBeUndefined();
  });

  it("orders itself before the worker and is enabled into multi-user.target", () => {
    const unit = executor();
    expect(unit.Unit.Before).toEqual([WORKER_UNIT]);
    expect(unit.Install.WantedBy).toEqual(["multi-user.target"]);
  });

  it("does not depend on drain or rollout settings", () => {
    const a = renderUnits(fleetConfig()).executor.text;
    const b = renderUnits(fleetConfig({ drain: { signal: "SIGTERM" }, rollout: { drainDeadline: "1h" }, units: { workerPartOfExecutor: true } })).executor.text;
    expect(b).toBe(a);
  });
});

describe("both units", () => {
  it("render the same bytes for the same config, ending in one newline", () => {
    const first = renderUnits(fleetConfig({ drain: { signal: "SIGTERM" } }));
    const second = renderUnits(fleetConfig({ drain: { signal: "SIGTERM" } }));
    expect(second).toEqual(first);
    for (const unit of [first.executor, first.worker]) {
      expect(unit.text.endsWith("\n")).toBe(true);
      expect(unit.text.endsWith("\n\n")).toBe(false);
    }
  });

  it("have no line continuations and only #-comments outside directives", () => {
    const units = renderUnits(fleetConfig({ units: { workerPartOfExecutor: true } }));
    for (const text of [units.executor.text, units.worker.text]) {
      for (const line of text.split("\n")) expect(line.endsWith("\\")).toBe(false);
      expect(() => directives(text)).not.toThrow();
    }
  });

  it("explain their changes from the shipped units in comments", () => {
    const text = renderUnits(fleetConfig()).worker.text;
    expect(text).toMatch(/^# on-failure, not always/m);
    expect(text).toMatch(/^# .*systemd\.kill\(5\)/m);
  });
});
