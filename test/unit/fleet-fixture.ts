// Raw stack configs for the unit tests: the smallest valid fleet, and n-worker fleets under a chosen policy.
import fc from "fast-check";
import { FleetConfig } from "../../config/schema";
import { ConfigError, validateFleetConfig } from "../../config/load";

/** A distinctive secret value: finding it in any message or output is a leak. */
export const SECRET_MARKER = "MARKER-SECRET-5e1f0c";

// Loosely typed on purpose: the tests build malformed configs the schema types would not allow.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loose on purpose: tests reach into raw config/inputs by path
export type Raw = Record<string, any>;

export function hostWorkers(n: number, prefix = "w"): Raw[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, host: { address: `10.0.${i >> 8}.${i & 255}` } }));
}

/** Valid as is: three workers (two existing hosts, one adopted OVH server), secrets holding the marker. */
export function minimalRaw(): Raw {
  return {
    release: {
      version: "v1.2.3",
      worker: { url: "https://example.test/zombied.tar.gz", sha256: "a".repeat(64) },
      executor: { url: "https://example.test/zombied-executor.tar.gz", sha256: "b".repeat(64) },
    },
    ssh: { privateKey: `-----BEGIN KEY-----${SECRET_MARKER}-----END KEY-----` },
    secrets: { DATABASE_URL_WORKER: `postgres://zombie:${SECRET_MARKER}@db/zombie` },
    workers: [
      { name: "w-a", host: { address: "10.0.0.1" } },
      { name: "w-b", ovh: { serviceName: "ns1.example.net" } },
      { name: "w-c", host: { address: "10.0.0.3" } },
    ],
  };
}

/** A validated fleet of `n` existing hosts named w0…w(n-1) under the given rollout policy. */
export function fleet(n: number, rollout: Raw = {}, patch: (raw: Raw) => void = () => {}): FleetConfig {
  const raw = { ...minimalRaw(), rollout, workers: hostWorkers(n) };
  patch(raw);
  return validateFleetConfig(raw, { source: "test", secretsRequired: true });
}

/** A batch size as config takes it: a count or a percentage. */
const batchSize = fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 100 }).map((p) => `${p}%`));
/** The fields of a fleet for property tests: its size, rollout.waves and maxUnavailable, indexes of held workers. */
export const FLEET_SHAPE = {
  n: fc.integer({ min: 1, max: 120 }),
  waves: fc.array(batchSize, { minLength: 1, maxLength: 4 }),
  maxUnavailable: batchSize,
  held: fc.array(fc.nat(), { maxLength: 5 }),
};

/** The validated config, or undefined when the schema rejects it (property tests draw configs it may refuse). */
export function validOrUndefined(raw: Raw): FleetConfig | undefined {
  try {
    return validateFleetConfig(raw, { source: "property", secretsRequired: true });
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

/** The hosts a plan places, sorted, with duplicates kept; and the active workers of its config, sorted. */
export function placedAndActive(config: FleetConfig, waves: { hosts: string[] }[]): { placed: string[]; active: string[] } {
  return {
    placed: waves.flatMap((w) => w.hosts).sort(),
    active: config.workers.filter((w) => w.hold === undefined).map((w) => w.name).sort(),
  };
}

/** The problems a config load reports, or [] when it loads; anything but a ConfigError is a crash and is thrown. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}
