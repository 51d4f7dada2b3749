// The one place that turns a command of a host (host/commands.ts) into a `remote.Command`: connection.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FleetConfig } from "../config/schema";
import { CommandSpec, Part, StepSpecArgs, bundleSpec, stepSpec } from "../host/commands";

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

/**
 * The options of a command whose wave waits for promotion: the engine resets every input to the value in state
 * before it diffs (pulumi v3.248.0 pkg/resource/deploy/step_generator.go: `processIgnoreChanges` on `old.Inputs`;
 * `*` at the root copies every top-level key, sdk/go/common/resource/properties_path.go `reset`), so a command
 * that exists is a "same" step and runs nothing. It applies only when there are old inputs (`if old != nil`): a
 * command not in state yet (a new host, a hold just lifted) is created as usual. Without it, the engine would
 * see a new release and run the chain; dropping the commands instead (as for a held worker) would delete them
 * from state and re-run every chain on promotion even when nothing changed.
 */
export const KEEP_OLD_INPUTS = ["*"] as const;

type In = pulumi.Input<unknown>;

/** The `remote.Command` of one CommandSpec (host/commands.ts: the one definition of what a host gets). */
export function remoteCommand(
  name: string, config: FleetConfig, access: HostAccess, spec: CommandSpec<In>, opts: pulumi.CustomResourceOptions,
): command.remote.Command {
  // A replaced command's delete runs at the end of the whole update, outside any wave (facts/pulumi.md; seen in the
  // lab): a command with a delete must never be replaceable, and triggers are the only input that replaces one.
  if (spec.delete !== undefined && spec.triggers) throw new Error(`${name}: a step with a delete command cannot have triggers`);
  return new command.remote.Command(name, {
    connection: connection(config, access),
    create: spec.create,
    ...(spec.delete !== undefined ? { delete: spec.delete } : {}),
    ...(spec.stdin !== undefined ? { stdin: spec.stdin.value as pulumi.Input<string> } : {}),
    ...(spec.triggers ? { triggers: spec.triggers.map((t) => t.value) } : {}),
    logging: spec.logging,
    // Pulumi would otherwise pass the previous stdout/stderr as environment on update (and SSH setenv is refused).
    addPreviousOutputInEnv: false,
  }, opts);
}

/** A `remote.Command` running one step script; children of the component passed in `opts.parent`. */
export function scriptStep(
  name: string, args: StepSpecArgs<In> & { config: FleetConfig; access: HostAccess }, opts: pulumi.CustomResourceOptions,
): command.remote.Command {
  return remoteCommand(name, args.config, args.access, stepSpec(args.config, args), opts);
}

/** Installs the step-script bundle on a host (host/commands.ts bundleSpec). */
export function installBundle(
  name: string, args: { config: FleetConfig; access: HostAccess; host: string; triggers: Part<In>[] },
  opts: pulumi.CustomResourceOptions,
): command.remote.Command {
  return remoteCommand(name, args.config, args.access, bundleSpec(args.config, args.host, args.triggers), opts);
}
