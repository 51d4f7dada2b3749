// The one place that turns a step script into a `remote.Command`: connection, sudo, inputs, logging.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FleetConfig } from "./config";
import { ScriptInputs, ScriptName, installBundleCommand, scriptBundle, scriptCommand, scriptHash } from "./script-command";

/** How to reach one host over SSH. */
export interface HostAccess {
  /** Public or tailnet address the commands connect to. */
  address: pulumi.Input<string>;
  /** The fleet's SSH private key, already wrapped with pulumi.secret. */
  privateKey: pulumi.Input<string>;
  /** Pinned host key, when the stack config lists one for this worker. */
  hostKey?: string;
}

export function hostAccess(
  config: FleetConfig, worker: string, address: pulumi.Input<string>, privateKey: pulumi.Input<string>,
): HostAccess {
  return { address, privateKey, hostKey: config.ssh.hostKeys[worker] };
}

function connection(config: FleetConfig, access: HostAccess): command.types.input.remote.ConnectionArgs {
  return {
    host: access.address,
    port: config.ssh.port,
    user: config.ssh.user,
    privateKey: access.privateKey,
    // Without hostKey the provider checks nothing (facts/pulumi.md); pin it wherever the operator gave one.
    ...(access.hostKey ? { hostKey: access.hostKey } : {}),
    // Bounded per command and counted in the plan's worst case (budget.ts dialBudgetSeconds).
    dialErrorLimit: config.ssh.dialErrorLimit,
    perDialTimeout: config.ssh.perDialTimeout,
  };
}

export interface ScriptStepArgs {
  config: FleetConfig;
  access: HostAccess;
  script: ScriptName;
  inputs: ScriptInputs;
  /** Secret data for the script (the .env text, an auth key): stdin is the only way secrets reach a host. */
  stdin?: pulumi.Input<string>;
  /** A change re-runs the step (replace): the host fingerprint parts this step depends on. The hash of the
   * files the script runs is added here (scriptHash): the short command text does not change with them. */
  triggers?: pulumi.Input<unknown>[];
  /** What Pulumi may log of the command's output; `none` where output could echo a secret. */
  logging?: "stdout" | "stderr" | "stdoutAndStderr" | "none";
  /** Script run when the resource is deleted (stored in state and run with the stored connection). */
  onDelete?: { script: ScriptName; inputs: ScriptInputs };
  /** Create runs nothing on the host (a resource that only exists for its delete). */
  createIsMarker?: boolean;
}

/** A `remote.Command` running one step script; children of the component passed in `opts.parent`. */
export function scriptStep(name: string, args: ScriptStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
  // A replaced command's delete runs at the end of the whole update, outside any wave (facts/pulumi.md): a
  // command with a delete must never be replaceable, and triggers are the only input that replaces one.
  if (args.onDelete && args.triggers) throw new Error(`${name}: a step with a delete command cannot have triggers`);
  const sudo = args.config.ssh.user !== "root";
  const create = args.createIsMarker
    ? `echo step=registered host=${String(args.inputs.ZF_HOST ?? "")} status=ok`
    : scriptCommand(args.script, args.inputs, { sudo });
  return new command.remote.Command(name, {
    connection: connection(args.config, args.access),
    create,
    ...(args.onDelete ? { delete: scriptCommand(args.onDelete.script, args.onDelete.inputs, { sudo }) } : {}),
    ...(args.stdin !== undefined ? { stdin: args.stdin } : {}),
    // A marker's create runs nothing, and its delete runs the installed script: nothing to re-run.
    ...(args.createIsMarker ? {} : { triggers: [...(args.triggers ?? []), scriptHash(args.script)] }),
    logging: args.logging ?? "stdoutAndStderr",
    // Pulumi would otherwise pass the previous stdout/stderr as environment on update (and SSH setenv is refused).
    addPreviousOutputInEnv: false,
  }, opts);
}

/**
 * Installs the step-script bundle on a host (install-bundle.sh): every other command of the host depends on it.
 * A changed bundle is a changed stdin, an update, which runs the install again; `triggers` (the host's identity)
 * install it again on a new or reinstalled host.
 */
export function installBundle(
  name: string, args: { config: FleetConfig; access: HostAccess; host: string; triggers: pulumi.Input<unknown>[] },
  opts: pulumi.CustomResourceOptions,
): command.remote.Command {
  const bundle = scriptBundle();
  return new command.remote.Command(name, {
    connection: connection(args.config, args.access),
    create: installBundleCommand(args.host, bundle.hash, { sudo: args.config.ssh.user !== "root" }),
    stdin: bundle.text,
    triggers: args.triggers,
    logging: "stdoutAndStderr",
    addPreviousOutputInEnv: false,
  }, opts);
}
