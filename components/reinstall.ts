// The one reinstall an adopted server may be asked for (`ovh.reinstall.os`), realised in the host's wave: its
// worker is drained and stopped on the old system, then OVH wipes and reinstalls the box with the fleet's key
// and the worker's hostname, and the reinstalled host gets its whole setup again (the caller hangs it on the
// identity returned here). Every resource here waits for the previous wave's gates.
import * as ovh from "@ovhcloud/pulumi-ovh";
import * as pulumi from "@pulumi/pulumi";
import { FleetConfig } from "../config/schema";
import { ovhReinstall } from "./ovh";
import { HostAccess, KEEP_OLD_INPUTS, installBundle, scriptStep } from "./remote";
import { rolloutStepInputs } from "../host/step-inputs";

export interface ReinstallArgs {
  config: FleetConfig;
  worker: string;
  serviceName: string;
  os: string;
  /** The host before the reinstall, over its public address (its tailnet membership is replaced after). */
  access: HostAccess;
  server: ovh.dedicated.Server;
  afterGates: pulumi.Resource[];
  /** The wave waits for promotion: a reinstall already done keeps its inputs (remote.ts KEEP_OLD_INPUTS). */
  keepOldInputs?: boolean;
}

export interface Reinstall {
  task: ovh.dedicated.ServerReinstallTask;
  /** The reinstalled host's identity: new with every reinstall task, so its setup and tailnet join run again. */
  identity: pulumi.Output<string>;
}

/** Drain and stop on the old system, then the reinstall task; `name` is the worker's, `parent` its component. */
export function reinstallInWave(name: string, args: ReinstallArgs, parent: pulumi.Resource): Reinstall {
  const { config, worker, access } = args;
  // Once per requested OS, like the task itself: a later `up` with the same value runs none of this again.
  const triggers = [{ what: "requested OS", value: args.os }];
  const keep = args.keepOldInputs ? { ignoreChanges: [...KEEP_OLD_INPUTS] } : {};
  const scripts = installBundle(`${name}-scripts-before-reinstall`, { config, access, host: worker, triggers }, { parent, dependsOn: [args.server] });
  const drain = scriptStep(`${name}-drain-before-reinstall`, {
    config, access, script: "drain", inputs: rolloutStepInputs(config, worker, "drain"), triggers,
  }, { parent, dependsOn: [scripts, ...args.afterGates], ...keep });
  const stop = scriptStep(`${name}-stop-before-reinstall`, {
    config, access, script: "stop", inputs: rolloutStepInputs(config, worker, "stop"), triggers,
  }, { parent, dependsOn: [drain, ...args.afterGates], ...keep });
  const task = ovhReinstall(`${name}-reinstall`, {
    worker, serviceName: args.serviceName, os: args.os, publicKey: config.ssh.publicKey,
  }, { parent, dependsOn: [stop, ...args.afterGates], ...keep });
  return { task, identity: pulumi.interpolate`${args.serviceName}/reinstalled/${task.id}` };
}
