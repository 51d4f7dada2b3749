// The OVH dedicated server behind a worker: adopted (existing contract) or ordered, and the one reinstall an
// adopted server may be asked for. Existing hosts need none.
// The provider's defaults are dangerous (facts/pulumi.md): `os` wipes the box on create, a change of os,
// customizations or storages reinstalls in place, and delete cancels the monthly contract. This file is where
// each of those is turned off unless the worker's config explicitly asks for it.
import * as ovh from "@ovhcloud/pulumi-ovh";
import * as pulumi from "@pulumi/pulumi";
import { HostSource } from "../config/schema";

/** Inputs that make the provider reinstall (wipe) a server in place. */
export const WIPING_INPUTS = ["os", "customizations", "storages"];

export interface OvhServerArgs {
  worker: string;
  source: Extract<HostSource, { kind: "adopt" | "order" }>;
  /** OpenSSH public key installed on ordered servers. */
  publicKey?: string;
}

/** One OVH server; `ip` is the public address the first commands connect to. */
export function ovhServer(name: string, args: OvhServerArgs, opts: pulumi.CustomResourceOptions): ovh.dedicated.Server {
  const keepService = !args.source.cancelServiceOnDestroy;
  const common = {
    displayName: args.worker,
    // Only takes effect once applied: it must be in state before any destroy (facts/pulumi.md).
    keepServiceAfterDestroy: keepService,
  };
  const safety: pulumi.CustomResourceOptions = {
    ...opts,
    // Belt and braces: a retained server is dropped from state on delete, never cancelled.
    retainOnDelete: keepService,
  };
  const source = args.source;
  switch (source.kind) {
    case "adopt":
      // The same inputs whether or not a reinstall is asked for: a reinstall is its own task (ovhReinstall), run
      // in the host's wave. An update of this resource could wipe the box at the start of `pulumi up`, in
      // parallel with the canary and without a drain, and ignoreChanges would drop customizations the old inputs
      // never had (facts/pulumi.md), so nothing that wipes is ever set here.
      return new ovh.dedicated.Server(name, {
        ...common,
        serviceName: source.serviceName,
        preventInstallOnCreate: true,
        preventInstallOnImport: true,
      }, { ...safety, ignoreChanges: WIPING_INPUTS });
    case "order": {
      const order = source.order;
      return new ovh.dedicated.Server(name, {
        ...common,
        ovhSubsidiary: order.subsidiary,
        ...(order.range ? { range: order.range } : {}),
        plans: [{
          planCode: order.plan,
          duration: order.duration,
          pricingMode: "default",
          configurations: [
            { label: "dedicated_datacenter", value: order.datacenter },
            { label: "dedicated_os", value: "none_64.en" },
          ],
        }],
        planOptions: order.options.map((planCode) => ({ planCode, duration: order.duration, pricingMode: "default", quantity: 1 })),
        os: order.os,
        customizations: { hostname: args.worker, sshKey: args.publicKey },
      // Once delivered, later edits of the order must never reinstall or re-order the box.
      }, { ...safety, ignoreChanges: [...WIPING_INPUTS, "plans", "planOptions", "ovhSubsidiary", "range"] });
    }
    default: {
      const unknown: never = source;
      throw new Error(`unknown OVH host source ${JSON.stringify(unknown)}`);
    }
  }
}

export interface OvhReinstallArgs {
  worker: string;
  serviceName: string;
  os: string;
  /** The fleet's OpenSSH public key: the reinstalled box must let the fleet in. */
  publicKey?: string;
}

/**
 * One OVH reinstall of an adopted server (terraform-provider-ovh resource_dedicated_server_reinstall_task.go):
 * create POSTs /dedicated/server/{serviceName}/reinstall and waits for the task (45 min create timeout);
 * service_name, os, customizations and storage are ForceNew, so a change of any of them is another reinstall;
 * read and update do nothing; delete only forgets the task unless bootid_on_destroy is set (never here).
 * So it reinstalls exactly once per `ovh.reinstall.os`: a new fleet key must not wipe the box again, hence
 * customizations are ignored after the create (on create they are what the new box gets: key and hostname).
 * The caller orders it after the host's drain and stop.
 */
export function ovhReinstall(name: string, args: OvhReinstallArgs, opts: pulumi.CustomResourceOptions): ovh.dedicated.ServerReinstallTask {
  pulumi.log.warn(`${args.worker}: ovh.reinstall is set: OVH server ${args.serviceName} will be drained, stopped, wiped and reinstalled with ${args.os} in its wave`);
  return new ovh.dedicated.ServerReinstallTask(name, {
    serviceName: args.serviceName,
    os: args.os,
    customizations: { hostname: args.worker, ...(args.publicKey ? { sshKey: args.publicKey } : {}) },
  }, { ...opts, ignoreChanges: ["customizations"] });
}
