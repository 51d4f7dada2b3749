// What the PROGRAM (not the stack file) puts on a host, as digests of each command's parts (text, stored delete,
// stdin, each trigger), taken from host/commands.ts: the one definition of what a host gets, which
// worker.ts builds its resources from. Comparing the digests of two versions of the program, on the same stack
// config, says which commands of every active worker re-run because of a code change alone.
// PURE: it takes the modules of one version of the program (cli/base-ref.ts loads a git ref's), so the same code
// digests the base and the head. test/program/digest.test.ts holds the specs to what the program registers.
import type { StackFile } from "../config/load";
import type { FleetConfig } from "../config/schema";
import type { HostSpecs, HostValues } from "../host/commands";
import { sha256 } from "../host/sha256";
import { CANARY_GATE, ROLLOUT_STEPS, StepName } from "../host/steps";
import type { RenderedUnits } from "../host/units";

/** The exports of one version of the program that the digest reads (components/*.ts of that version). */
export interface ProgramModules {
  loadStackFile(path: string): Pick<StackFile, "config">;
  renderUnits(config: FleetConfig): RenderedUnits;
  renderEnvFile(config: FleetConfig): string;
  hostFingerprint(config: FleetConfig, units: RenderedUnits, envText: string): { release: string; host: string };
  hostSpecs<V>(config: FleetConfig, host: string, units: RenderedUnits, values: HostValues<V>, steps: readonly StepName[]): HostSpecs<V>;
}

/** The names ProgramModules needs, to say which one an old version lacks. */
export const PROGRAM_EXPORTS = ["loadStackFile", "renderUnits", "renderEnvFile", "hostFingerprint", "hostSpecs"] as const;

/** Per command of a host, per part (`text`, `delete`, `stdin: …`, `trigger: …`): the sha256 of its value. */
export type ProgramDigest = Record<string, Record<string, string>>;

// The same placeholder host and identity on both sides: the digest is about the program, those are the stack's.
const HOST = "zf-digest-host";
const ROLLOUT: StepName[] = [...ROLLOUT_STEPS, CANARY_GATE];

/** Everything one version of the program gives a host of `config`, with plain values. Throws what it throws. */
export function programSpecs(mods: ProgramModules, config: FleetConfig, host = HOST, identity = "host-identity"): HostSpecs<string> {
  const units = mods.renderUnits(config);
  const envText = mods.renderEnvFile(config);
  const fingerprint = mods.hostFingerprint(config, units, envText);
  return mods.hostSpecs<string>(config, host, units, {
    identity, release: fingerprint.release, host: fingerprint.host, envText, authKey: "tailnet-auth-key",
  }, ROLLOUT);
}

/** Digest of one version of the program applied to `config`. */
export function programDigest(mods: ProgramModules, config: FleetConfig): ProgramDigest {
  const specs = programSpecs(mods, config);
  const commands: [string, HostSpecs<string>["decommission"]][] = [
    ...Object.entries(specs.setup), ...specs.rollout.map((r) => [r.step, r.spec] as [string, typeof r.spec]),
    ["decommission", specs.decommission],
  ];
  const out: ProgramDigest = {};
  for (const [name, spec] of commands) {
    // Any input change re-runs a command (triggers: replace; others: update, which runs create again; facts/pulumi.md).
    const parts: Record<string, string> = { "command text": sha256(spec.create), "output logging": sha256(spec.logging) };
    if (spec.delete !== undefined) parts["stored delete command"] = sha256(spec.delete);
    if (spec.stdin) parts[spec.stdin.what] = sha256(spec.stdin.value);
    for (const t of spec.triggers ?? []) parts[t.what] = sha256(t.value);
    out[name] = parts;
  }
  return out;
}

/** What differs between two digests: each difference, and the commands it re-runs on an active host. */
export interface ProgramChange {
  /** The git ref compared against, as the operator gave it. */
  base: string;
  /** One line per changed part, naming the commands it changes, for the plan's "what changed" column. */
  changes: string[];
  /** Commands of an active host that re-run. */
  reruns: Set<string>;
  /** Program files changed between base and head, for the notes. */
  files: string[];
  /** Set when the base could not be evaluated: every command of every active host is assumed to re-run. */
  unknown?: string;
}

// The decommission command runs nothing now (its create is an echo): a changed one is only stored for the removal.
const STORED_ONLY = new Set(["decommission"]);

export function compareDigests(base: ProgramDigest, head: ProgramDigest): Pick<ProgramChange, "changes" | "reruns"> {
  const byPart = new Map<string, string[]>();
  const reruns = new Set<string>();
  for (const command of new Set([...Object.keys(base), ...Object.keys(head)])) {
    const [b, h] = [base[command] ?? {}, head[command] ?? {}];
    for (const part of new Set([...Object.keys(b), ...Object.keys(h)])) {
      if (b[part] === h[part]) continue;
      byPart.set(part, [...(byPart.get(part) ?? []), command]);
      if (!STORED_ONLY.has(command)) reruns.add(command);
    }
  }
  const changes = [...byPart].map(([part, commands]) => `the ${part} changed: ${commands.join(", ")}`).sort();
  return { changes, reruns };
}


/** The commands of one active host (its `setup` commands, its plan's steps) that a program change re-runs, in the
 * order they run. */
export function programReruns(change: ProgramChange, setup: readonly string[], steps: readonly StepName[]): string[] {
  const all = [...setup, ...steps];
  return change.unknown ? all : all.filter((c) => change.reruns.has(c));
}
