// The host fingerprint: what every rollout step of a host carries in its `triggers`, so an unchanged host runs
// nothing on `pulumi up` and a changed one runs its whole chain (drain → … → verify). PURE.
//
// It is made of parts, kept apart so the program can say WHY a host re-runs and so a step can depend on less:
//   release   version + both artifact checksums: the deploy step's trigger (an env-only change downloads nothing)
//   units     both unit texts
//   env       the rendered .env text: SECRET-DERIVED
//   contract  the inputs of the steps that take the worker down, bring it back and judge it (drain, stop,
//             restart-executor, start-worker, verify). A change to one of those re-runs that step alone (its
//             command text changed); were it not in the fingerprint, a new drain signal would drain every worker
//             and leave it stopped, because nothing after the drain would run again.
//   host      sha256 over all four: the trigger of every step but deploy. SECRET-DERIVED.
// Not in it: artifact URLs (same checksum, same bytes: a mirror move must not roll the fleet) and the canary gate's
// inputs (it only watches; a change re-runs the gate alone, which is harmless).
import { FleetConfig } from "../config/schema";
import { RenderedUnits } from "./units";
import { sha256 } from "./sha256";
import { rolloutStepInputs } from "./step-inputs";
import { CONTRACT_STEPS, inputConfigPaths } from "./steps";

declare const secretDerivedBrand: unique symbol;
/**
 * A hash computed from secrets. Hashes of short or guessable secrets can be brute-forced, so the program MUST wrap
 * such a value with `pulumi.secret()` before it reaches a resource input, an output or a log. The brand keeps that
 * visible in every signature it passes through.
 */
export type SecretDerived = string & { readonly [secretDerivedBrand]: true };

export interface HostFingerprintParts {
  /** sha256 of release version + both artifact checksums: the deploy step's trigger. */
  release: string;
  /** sha256 of both unit files (names and texts). */
  units: string;
  /** sha256 of the step inputs that decide how a worker is drained, stopped, started and verified. */
  contract: string;
  /** sha256 of the rendered .env text. Secret-derived: wrap with pulumi.secret. */
  env: SecretDerived;
  /** sha256 over the four parts above: the trigger of every rollout step but deploy. Secret-derived. */
  host: SecretDerived;
}

/** The parts that say why a host re-runs, in the order an operator reads them. */
export const FINGERPRINT_PARTS = ["release", "units", "env", "contract"] as const;
export type FingerprintPart = (typeof FINGERPRINT_PARTS)[number];

/**
 * Every part of the host fingerprint. `units` and `envText` are what the program installs (renderUnits,
 * renderEnvFile), passed in so the fingerprint hashes exactly the bytes that reach the host.
 */
export function hostFingerprint(config: FleetConfig, units: RenderedUnits, envText: string): HostFingerprintParts {
  const parts = {
    release: releaseHash(config),
    units: unitsHash(units),
    env: envTextHash(envText),
    contract: contractHash(config),
  };
  const host = sha256(FINGERPRINT_PARTS.map((part) => `${part}=${parts[part]}`).join("\n")) as SecretDerived;
  return { ...parts, host };
}

/** sha256 of the release identity: version and both artifact checksums (not their URLs). */
export function releaseHash(config: Pick<FleetConfig, "release">): string {
  const { version, worker, executor } = config.release;
  return sha256(canonical({ version, worker: worker.sha256, executor: executor.sha256 }));
}

/** sha256 of both unit files, name and text each. */
export function unitsHash(units: RenderedUnits): string {
  return sha256(canonical([[units.executor.name, units.executor.text], [units.worker.name, units.worker.text]]));
}

/** sha256 of the .env text; equals env.ts `envHash(config)` for `renderEnvFile(config)`. Secret-derived. */
export function envTextHash(envText: string): SecretDerived {
  return sha256(envText) as SecretDerived;
}

// Not in the contract part: the host name (the same contract holds for every host) and verify's expected release
// (the release part covers it).
const NOT_CONTRACT = ["ZF_HOST", "ZF_VERSION"];

/** sha256 of the inputs of CONTRACT_STEPS but NOT_CONTRACT. */
export function contractHash(config: FleetConfig): string {
  const inputs = CONTRACT_STEPS.map((step) => {
    const stepInputs = { ...rolloutStepInputs(config, "worker", step) };
    for (const name of NOT_CONTRACT) delete stepInputs[name];
    return [step, stepInputs] as const;
  });
  return sha256(canonical(inputs));
}

/** The config paths the contract part is made of, to say what changed in it. */
export const CONTRACT_CONFIG_PATHS = inputConfigPaths(CONTRACT_STEPS, NOT_CONTRACT);

/** Which parts differ between two fingerprints: why a host re-runs (empty: it runs nothing). */
export function changedParts(before: HostFingerprintParts, after: HostFingerprintParts): FingerprintPart[] {
  return FINGERPRINT_PARTS.filter((part) => before[part] !== after[part]);
}

/** JSON with object keys sorted at every level: equal values give equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
