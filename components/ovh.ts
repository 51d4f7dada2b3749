// The OVH dedicated server behind a worker: adopted (existing contract) or ordered. Existing hosts need none.
// The provider's defaults are dangerous (facts/pulumi.md): `os` wipes the box on create, a change of os,
// customizations or storages reinstalls in place, and delete cancels the monthly contract. This file is where
// each of those is turned off unless the worker's config explicitly asks for it.
import * as ovh from "@ovhcloud/pulumi-ovh";
import * as pulumi from "@pulumi/pulumi";
import { HostSource } from "./config";

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
    case "adopt": {
      if (source.reinstallOs === undefined) {
        return new ovh.dedicated.Server(name, {
          ...common,
          serviceName: source.serviceName,
          preventInstallOnCreate: true,
          preventInstallOnImport: true,
        }, { ...safety, ignoreChanges: WIPING_INPUTS });
      }
      pulumi.log.warn(`${args.worker}: ovh.reinstall is set: OVH server ${source.serviceName} will be wiped and reinstalled with ${source.reinstallOs}`);
      return new ovh.dedicated.Server(name, {
        ...common,
        serviceName: source.serviceName,
        os: source.reinstallOs,
        customizations: { hostname: args.worker, ...(args.publicKey ? { sshKey: args.publicKey } : {}) },
        preventInstallOnCreate: false,
      // Only a change of reinstall.os asks for another wipe; a new SSH key or hostname must not.
      }, { ...safety, ignoreChanges: ["customizations", "storages"] });
    }
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
