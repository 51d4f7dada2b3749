import { describe, expect, it, test } from "vitest";
import { FleetConfig } from "../../config/schema";
import { envHash, renderEnvFile } from "../../host/env";
import { FingerprintPart, HostFingerprintParts, changedParts, hostFingerprint } from "../../host/fingerprint";
import { renderUnits } from "../../host/units";
import { fleetConfig, MINIMAL_RAW_CONFIG } from "../fixtures/minimal-fleet-config";

/** Raw stack config, edited in place by the table below. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loose on purpose: tests reach into raw config/inputs by path
type Raw = Record<string, any>;

const BASE_RAW: Raw = {
  ...structuredClone(MINIMAL_RAW_CONFIG),
  env: { LOG_LEVEL: "info" },
  secrets: { DATABASE_URL_WORKER: "postgres://worker@db/zombie" },
};

/** The fingerprint the program computes: over the units and .env it installs. */
function fingerprintOf(config: FleetConfig): HostFingerprintParts {
  return hostFingerprint(config, renderUnits(config), renderEnvFile(config));
}

function changed(edit: (raw: Raw) => void): FingerprintPart[] {
  const raw = structuredClone(BASE_RAW);
  edit(raw);
  return changedParts(fingerprintOf(fleetConfig(BASE_RAW)), fingerprintOf(fleetConfig(raw)));
}

describe("hostFingerprint", () => {
  test.each<[string, (raw: Raw) => void, FingerprintPart[]]>([
    ["release.version", (r) => { r.release.version = "2026.04.2"; }, ["release"]],
    ["release.worker.sha256", (r) => { r.release.worker.sha256 = "c".repeat(64); }, ["release"]],
    ["release.executor.sha256", (r) => { r.release.executor.sha256 = "c".repeat(64); }, ["release"]],
    ["release.worker.url (same bytes from a mirror)", (r) => { r.release.worker.url = "https://mirror.example/w.tar.gz"; }, []],
    ["an env value", (r) => { r.env.LOG_LEVEL = "debug"; }, ["env"]],
    ["a secret value", (r) => { r.secrets.DATABASE_URL_WORKER = "postgres://worker@db2/zombie"; }, ["env"]],
    ["a new secret", (r) => { r.secrets.GITHUB_APP_PRIVATE_KEY = "k"; }, ["env"]],
    ["units.workerPartOfExecutor", (r) => { r.units = { workerPartOfExecutor: true }; }, ["units"]],
    ["drain.signal", (r) => { r.drain = { signal: "SIGTERM" }; }, ["units", "contract"]],
    ["rollout.drainDeadline", (r) => { r.rollout = { drainDeadline: "10m" }; }, ["units", "contract"]],
    ["drain.completeLog", (r) => { r.drain = { completeLog: "worker.drain_complete" }; }, ["contract"]],
    ["rollout.onDrainDeadline", (r) => { r.rollout = { onDrainDeadline: "proceed" }; }, ["contract"]],
    ["verify.command", (r) => { r.verify = { command: "zombied doctor" }; }, ["contract"]],
    ["rollout.minHealthyTime", (r) => { r.rollout = { minHealthyTime: "2m" }; }, ["contract"]],
    ["rollout.autoRevert", (r) => { r.rollout = { autoRevert: false }; }, ["contract"]],
    ["rollout.canaryRuns (the gate only watches)", (r) => { r.rollout = { canaryRuns: 5 }; }, []],
    ["verify.metricsUrl (the gate only watches)", (r) => { r.verify = { metricsUrl: "http://api:3000/metrics" }; }, []],
    ["rollout.waves", (r) => { r.rollout = { waves: [1] }; }, []],
    ["rollout.keepReleases", (r) => { r.rollout = { keepReleases: 5 }; }, []],
    // Rollout modes change which steps run and in which waves, never what a host's commands are.
    ["rollout.promote", (r) => { r.rollout = { promote: "manual" }; }, []],
    ["rollout.promoted", (r) => { r.rollout = { promote: "manual", promoted: r.release.version }; }, []],
    ["rollout.rollback", (r) => { r.rollout = { rollback: r.release.version }; }, []],
    ["a new worker", (r) => { r.workers.push({ name: "worker-c", host: { address: "10.0.0.3" } }); }, []],
    ["tailscale.tags", (r) => { r.tailscale = { tags: ["tag:other"] }; }, []],
  ])("a change of %s changes %j", (_field, edit, parts) => {
    expect(changed(edit)).toEqual(parts);
  });

  it("changes the host fingerprint exactly when some part changes", () => {
    const base = fingerprintOf(fleetConfig(BASE_RAW));
    expect(fingerprintOf(fleetConfig(structuredClone(BASE_RAW)))).toEqual(base);
    const envOnly = structuredClone(BASE_RAW);
    envOnly.env.LOG_LEVEL = "debug";
    const after = fingerprintOf(fleetConfig(envOnly));
    expect(after.host).not.toBe(base.host);
    // The deploy step's trigger: an env-only change must not download the release again.
    expect(after.release).toBe(base.release);
  });

  it("hashes the .env exactly as envHash does", () => {
    const config = fleetConfig(BASE_RAW);
    expect(fingerprintOf(config).env).toBe(envHash(config));
  });

  it("gives hex sha256 parts that never contain a secret value", () => {
    const parts = fingerprintOf(fleetConfig(BASE_RAW));
    for (const value of Object.values(parts)) {
      expect(value).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(JSON.stringify(parts)).not.toContain("postgres://");
  });
});

describe("changedParts", () => {
  it("lists nothing for equal fingerprints, and parts in release, units, env, contract order", () => {
    const a = fingerprintOf(fleetConfig(BASE_RAW));
    expect(changedParts(a, a)).toEqual([]);
    const b = { ...a, contract: "x", release: "y" } as HostFingerprintParts;
    expect(changedParts(a, b)).toEqual(["release", "contract"]);
  });
});
