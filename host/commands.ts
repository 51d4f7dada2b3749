// What the program puts on one host: each remote command's text, stdin and (named) triggers. PURE, and generic over
// the values only known at deploy time (the host's identity, the fingerprint, the secret .env text): worker.ts and
// remote.ts build the resources from it, and plan/program-digest.ts digests it with plain strings, so
// `npm run plan -- --base <git ref>` compares what two versions of the program give a host without a copy of it.
import { FleetConfig } from "../config/schema";
import {
  ScriptInputs, ScriptName, installBundleCommand, rolloutScriptsHash, scriptBundle, scriptCommand, scriptHash,
} from "./script-command";
import { rolloutStepInputs, scriptInputs } from "./step-inputs";
import { STDIN_INPUTS, StepName } from "./steps";
import { RenderedUnits } from "./units";

/** One part of a command: `what` says in the plan what changed when its value differs. */
export interface Part<V> { what: string; value: V | string }

/** One `remote.Command` of a host, as its inputs; V is pulumi.Input in the program, a string in the digest. */
export interface CommandSpec<V> {
  create: string;
  /** Run on delete, with the stored connection. */
  delete?: string;
  /** Secret data or long texts for the script: stdin is the only way secrets reach a host. */
  stdin?: Part<V>;
  /** A change re-runs the command (replace); undefined for a command that only exists for its delete. */
  triggers?: Part<V>[];
  /** What Pulumi may log of the command's output; `none` where output could echo a secret. */
  logging: "stdout" | "stderr" | "stdoutAndStderr" | "none";
}

export interface StepSpecArgs<V> {
  script: ScriptName;
  inputs: ScriptInputs;
  stdin?: Part<V>;
  /** The host values this step depends on; the hash of the files the script runs is appended (scriptHash): the
   * short command text does not change with them. */
  triggers?: Part<V>[];
  logging?: CommandSpec<V>["logging"];
  /** Script run when the resource is deleted (stored in state and run with the stored connection). */
  onDelete?: { script: ScriptName; inputs: ScriptInputs };
  /** Create runs nothing on the host (a resource that only exists for its delete). */
  deleteOnly?: boolean;
}

/** A command running one installed step script. */
export function stepSpec<V>(config: FleetConfig, args: StepSpecArgs<V>): CommandSpec<V> {
  const sudo = config.ssh.user !== "root";
  return {
    create: args.deleteOnly
      ? `echo step=registered host=${String(args.inputs.ZF_HOST ?? "")} status=ok`
      : scriptCommand(args.script, args.inputs, { sudo }),
    ...(args.onDelete ? { delete: scriptCommand(args.onDelete.script, args.onDelete.inputs, { sudo }) } : {}),
    ...(args.stdin !== undefined ? { stdin: args.stdin } : {}),
    // A marker's create runs nothing, and its delete runs the installed script: nothing to re-run.
    ...(args.deleteOnly ? {} : {
      triggers: [...(args.triggers ?? []), { what: `files ${args.script}.sh runs`, value: scriptHash(args.script) }],
    }),
    logging: args.logging ?? "stdoutAndStderr",
  };
}

/**
 * Installs the step-script bundle (install-bundle.sh): every other command of the host depends on it. A changed
 * bundle is a changed stdin, an update, which runs the install again; `triggers` install it again on a new or
 * reinstalled host.
 */
export function bundleSpec<V>(config: FleetConfig, host: string, triggers: Part<V>[]): CommandSpec<V> {
  const bundle = scriptBundle();
  return {
    create: installBundleCommand(host, bundle.hash, { sudo: config.ssh.user !== "root" }),
    stdin: { what: "script bundle", value: bundle.text },
    triggers,
    logging: "stdoutAndStderr",
  };
}

/** The tailnet join (tailscale.ts): the auth key on stdin, again on a new or reinstalled host. */
export function tailnetJoinSpec<V>(config: FleetConfig, host: string, identity: Part<V>, authKey: V): CommandSpec<V> {
  return stepSpec(config, {
    script: "tailscale-join",
    inputs: scriptInputs(config, host, "tailscale-join"),
    stdin: { what: "tailnet auth key", value: authKey },
    triggers: [identity],
    logging: "stdout",
  });
}

/** The values of one host known only at deploy time. */
export interface HostValues<V> {
  /** The server as reached (a new or reinstalled host has a new one: it gets everything again). */
  identity: V;
  /** fingerprint.ts release part: the deploy step's trigger. */
  release: V;
  /** fingerprint.ts host fingerprint: the trigger of every other rollout step. */
  host: V;
  /** The rendered .env text (secret). */
  envText: V;
  /** The tailnet auth key (secret); without it, no `tailnet` spec (tailscale.ts builds the join with its key). */
  authKey?: V;
}

/** The commands of an active host, in the order they run: the setup ones, then the plan's rollout steps. */
export const SETUP_COMMANDS = ["scripts", "tailnet", "layout", "env", "units"] as const;
export type SetupCommand = (typeof SETUP_COMMANDS)[number];
export type HostCommand = SetupCommand | StepName | "decommission";

export interface HostSpecs<V> {
  /** No `tailnet` when the tailnet is disabled or no authKey was given. */
  setup: Partial<Record<SetupCommand, CommandSpec<V>>> & Record<Exclude<SetupCommand, "tailnet">, CommandSpec<V>>;
  rollout: { step: StepName; spec: CommandSpec<V> }[];
  /** Exists for its delete: drains and stops the host before its server and tailnet resources go. */
  decommission: CommandSpec<V>;
}

/** Everything `host` gets from the program for the rollout `steps` of its plan. */
export function hostSpecs<V>(
  config: FleetConfig, host: string, units: RenderedUnits, values: HostValues<V>, steps: readonly StepName[],
): HostSpecs<V> {
  const identity: Part<V> = { what: "host identity", value: values.identity };
  const rerunOnNewHost = { triggers: [identity] };
  const rolloutScripts: Part<V> = { what: "rollout step scripts", value: rolloutScriptsHash() };
  return {
    setup: {
      scripts: bundleSpec(config, host, [identity]),
      ...(config.tailscale.enabled && values.authKey !== undefined
        ? { tailnet: tailnetJoinSpec(config, host, identity, values.authKey) } : {}),
      layout: stepSpec(config, { ...rerunOnNewHost, script: "layout", inputs: scriptInputs(config, host, "layout") }),
      env: stepSpec(config, {
        ...rerunOnNewHost, script: "write-env", inputs: scriptInputs(config, host, "write-env"), logging: "none",
        stdin: { what: ".env text (env.ts rendering)", value: values.envText },
      }),
      units: stepSpec(config, {
        ...rerunOnNewHost,
        script: "install-units",
        inputs: scriptInputs(config, host, "install-units"),
        // On stdin, not in the command: base64 unit texts would make the command (and its error) pages long.
        stdin: {
          what: "unit texts (units.ts)",
          value: (["executor", "worker"] as const)
            .map((unit) => `${STDIN_INPUTS["install-units"][unit]}=${Buffer.from(units[unit].text).toString("base64")}\n`).join(""),
        },
      }),
    },
    // The download depends on the release alone: an env-only change drains and restarts without one. A changed
    // rollout script re-runs the whole chain from its drain, the download included.
    rollout: steps.map((step) => ({
      step,
      spec: stepSpec(config, {
        script: step,
        inputs: rolloutStepInputs(config, host, step),
        triggers: step === "deploy"
          ? [identity, { what: "release (version and checksums)", value: values.release }, rolloutScripts]
          : [identity, { what: "host fingerprint (unit texts, .env rendering, drain/verify contract)", value: values.host }, rolloutScripts],
      }),
    })),
    decommission: decommissionSpec(config, host),
  };
}

/** Exists for its delete: drains and stops the host before its server and tailnet resources go. */
export function decommissionSpec<V>(config: FleetConfig, host: string): CommandSpec<V> {
  return stepSpec(config, {
    script: "decommission",
    inputs: { ZF_HOST: host },
    deleteOnly: true,
    onDelete: { script: "decommission", inputs: scriptInputs(config, host, "decommission") },
  });
}
