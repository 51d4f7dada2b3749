// What the PROGRAM (not the stack file) puts on a host, as digests: the triggers and command texts every host's
// remote commands get from the step scripts, the unit and .env renderers, the step inputs and the fingerprint.
// Comparing the digest of two versions of the program, on the same stack config, says which steps of every
// active worker re-run because of a code change alone (a scripts-only change re-runs every step of every host).
// PURE: it takes the modules of one version of the program (cli/base-ref.ts loads a git ref's), so the same code
// digests the base and the head. It mirrors worker.ts's resources; test/program/digest.test.ts holds it to them.
import { createHash } from "node:crypto";
import type { StackFile } from "./config-load";
import type { FleetConfig } from "./config";
import type { StepName } from "./plan";
import type { ScriptInputs, ScriptName } from "./script-command";
import type { RenderedUnits } from "./units";

/** The exports of one version of the program that the digest reads (components/*.ts of that version). */
export interface ProgramModules {
  loadStackFile(path: string): StackFile;
  renderUnits(config: FleetConfig): RenderedUnits;
  renderEnvFile(config: FleetConfig): string;
  hostFingerprint(config: FleetConfig, units: RenderedUnits, envText: string): { release: string; host: string };
  scriptCommand(name: ScriptName, inputs: ScriptInputs, options: { sudo: boolean }): string;
  rolloutStepInputs(config: FleetConfig, host: string, step: StepName): ScriptInputs;
  layoutInputs(config: FleetConfig, host: string): ScriptInputs;
  decommissionInputs(config: FleetConfig, host: string): ScriptInputs;
  rolloutScriptsHash(): string;
  deployBundle(): string;
}

/** The names ProgramModules needs, to say which one an old version lacks. */
export const PROGRAM_EXPORTS = [
  "loadStackFile", "renderUnits", "renderEnvFile", "hostFingerprint", "scriptCommand", "rolloutStepInputs",
  "layoutInputs", "decommissionInputs", "rolloutScriptsHash", "deployBundle",
] as const;

/** The setup commands every active host runs before its rollout chain (worker.ts rollOut). */
export const SETUP_STEPS = ["layout", "env", "units"] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];
export type HostCommand = SetupStep | StepName | "decommission";

/** One entry per trigger or command text; a difference re-runs the `reruns` steps (worker.ts). */
export interface DigestEntry { digest: string; what: string; reruns: HostCommand[] | "non-deploy rollout steps" }
export type ProgramDigest = Record<string, DigestEntry>;

// The same placeholder host on both sides: the digest is about the program, the host name is the stack's.
const HOST = "zf-digest-host";
const ROLLOUT: StepName[] = ["drain", "stop", "deploy", "restart-executor", "start-worker", "verify", "canary-gate"];

/** The command text of each command of `host` (decommission: its delete), as worker.ts builds them. */
export function hostCommands(mods: ProgramModules, config: FleetConfig, host: string): Record<HostCommand, string> {
  const sudo = config.ssh.user !== "root";
  const units = mods.renderUnits(config);
  const command = (name: ScriptName, inputs: ScriptInputs) => mods.scriptCommand(name, inputs, { sudo });
  const out = {
    layout: command("layout", mods.layoutInputs(config, host)),
    env: command("write-env", { ZF_HOST: host }),
    units: command("install-units", {
      ZF_HOST: host,
      ZF_EXECUTOR_UNIT_TEXT_B64: Buffer.from(units.executor.text).toString("base64"),
      ZF_WORKER_UNIT_TEXT_B64: Buffer.from(units.worker.text).toString("base64"),
    }),
    decommission: command("decommission", mods.decommissionInputs(config, host)),
  } as Record<HostCommand, string>;
  for (const step of ROLLOUT) out[step] = command(step, mods.rolloutStepInputs(config, host, step));
  return out;
}

/** Digest of one version of the program applied to `config`. Throws what that version throws. */
export function programDigest(mods: ProgramModules, config: FleetConfig): ProgramDigest {
  const fingerprint = mods.hostFingerprint(config, mods.renderUnits(config), mods.renderEnvFile(config));
  const commands = hostCommands(mods, config, HOST);
  const out: ProgramDigest = {
    "trigger:release": {
      digest: fingerprint.release, what: "the release part of the fingerprint (deploy's trigger)", reruns: ["deploy"],
    },
    "trigger:host": {
      digest: fingerprint.host,
      what: "the host fingerprint (unit texts, .env rendering, drain/verify contract)",
      reruns: "non-deploy rollout steps",
    },
    "trigger:scripts": {
      digest: mods.rolloutScriptsHash(), what: "the rollout step scripts (components/scripts)", reruns: "non-deploy rollout steps",
    },
    "command:layout": {
      digest: sha256(`${commands.layout}\n${mods.deployBundle()}`),
      what: "the layout command or the script bundle it installs", reruns: ["layout"],
    },
    "command:env": { digest: sha256(commands.env), what: "the write-env command", reruns: ["env"] },
    "command:units": { digest: sha256(commands.units), what: "the unit files or the install-units command", reruns: ["units"] },
    "command:decommission": {
      digest: sha256(commands.decommission),
      what: "the decommission command (stored for the host's removal; runs nothing now)",
      reruns: [],
    },
  };
  for (const step of ROLLOUT) {
    out[`command:${step}`] = { digest: sha256(commands[step]), what: `the ${step} command`, reruns: [step] };
  }
  return out;
}

/** What differs between two digests: each difference, and the commands it re-runs on an active host. */
export interface ProgramChange {
  /** The git ref compared against, as the operator gave it. */
  base: string;
  /** One line per difference, for the plan's "what changed" column. */
  changes: string[];
  /** Commands of an active host that re-run; "non-deploy rollout steps" is expanded per host. */
  reruns: Set<HostCommand | "non-deploy rollout steps">;
  /** Program files changed between base and head, for the notes. */
  files: string[];
  /** Set when the base could not be evaluated: every command of every active host is assumed to re-run. */
  unknown?: string;
}

export function compareDigests(base: ProgramDigest, head: ProgramDigest): Pick<ProgramChange, "changes" | "reruns"> {
  const changes: string[] = [];
  const reruns = new Set<HostCommand | "non-deploy rollout steps">();
  for (const key of [...new Set([...Object.keys(base), ...Object.keys(head)])].sort()) {
    if (base[key]?.digest === head[key]?.digest) continue;
    const entry = head[key] ?? base[key];
    changes.push(`${entry.what} changed`);
    if (entry.reruns === "non-deploy rollout steps") reruns.add(entry.reruns);
    else for (const r of entry.reruns) reruns.add(r);
  }
  return { changes, reruns };
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The commands of one active host (its plan's steps) that a program change re-runs, in the order they run. */
export function programReruns(change: ProgramChange, steps: readonly StepName[]): HostCommand[] {
  const all: HostCommand[] = [...SETUP_STEPS, ...steps];
  if (change.unknown) return all;
  return all.filter((c) => change.reruns.has(c) ||
    (change.reruns.has("non-deploy rollout steps") && (steps as readonly string[]).includes(c) && c !== "deploy"));
}
