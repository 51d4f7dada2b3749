// Joins a worker host to the tailnet: a single-use pre-authorized key, a join over the public address (key on
// stdin only), the device looked up after the join, key expiry off and the fleet's tags enforced.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { SETUP_BOUNDS } from "../host/steps";
import { FleetConfig } from "../config/schema";
import { tailnetJoinSpec } from "../host/commands";
import { tailnetKeyDescription } from "../host/provider-limits";
import { HostAccess, remoteCommand } from "./remote";

export interface TailnetMember {
  /** The host's tailnet IPv4 address: every later step connects to it. */
  address: pulumi.Output<string>;
  /** Resources a decommission must outlive. */
  resources: pulumi.Resource[];
}

export interface TailnetJoinArgs {
  config: FleetConfig;
  worker: string;
  /** Access over the public address, used for the join only. */
  publicAccess: HostAccess;
  /** Changes when the host itself is new or reinstalled: the join runs again then. */
  hostIdentity: pulumi.Input<string>;
  dependsOn: pulumi.Resource[];
}

/** Creates the tailnet children of a worker; `parent` is the Worker component. */
export function joinTailnet(name: string, args: TailnetJoinArgs, parent: pulumi.Resource): TailnetMember {
  const { config, worker } = args;
  const key = new tailscale.TailnetKey(`${name}-key`, {
    // Keys are single-use and short-lived, and every field forces a new key: hashing the host's identity into
    // the description gives a reinstalled host (new identity) a fresh key for its new join. The provider caps
    // the description at 50 characters (provider-limits.ts).
    description: pulumi.output(args.hostIdentity).apply((identity) => tailnetKeyDescription(worker, identity)),
    reusable: false,
    ephemeral: false,
    preauthorized: true,
    tags: config.tailscale.tags,
    expiry: config.tailscale.keyExpiry,
  }, { parent });

  // A reinstalled host joins as a new node; without this its old, now offline, device keeps the hostname and
  // the new one becomes `<name>-1`. Runs on the operator's machine with the provider's own API credentials.
  const forgetStale = new command.local.Command(`${name}-forget-stale`, {
    create: "node components/local/tailnet-forget-stale.mjs",
    environment: { ZF_TS_HOSTNAME: worker },
    triggers: [args.hostIdentity],
    logging: "stdoutAndStderr",
  }, { parent, dependsOn: args.dependsOn });

  const join = remoteCommand(`${name}-join`, config, args.publicAccess,
    tailnetJoinSpec<pulumi.Input<unknown>>(config, worker, { what: "host identity", value: args.hostIdentity }, key.key),
    { parent, dependsOn: [...args.dependsOn, forgetStale] });

  const device = tailscale.getDeviceOutput({ hostname: worker, waitFor: `${SETUP_BOUNDS.tailnetDevice}s` }, { parent, dependsOn: [join] });
  // Deleting either resource calls the Tailscale API on the device (SetKey / SetTags([]), no not-found tolerance:
  // terraform-provider-tailscale v0.29.1 resource_device_key.go and resource_device_tags.go, Delete), which fails
  // once the device is gone: logged out by the decommission, removed by forget-stale after a reinstall, or a dead
  // host. Both only matter while the device exists, so a removed or replaced one is dropped from state instead.
  const keepDevice = { parent, retainOnDelete: true };
  const deviceKey = new tailscale.DeviceKey(`${name}-device-key`, {
    deviceId: device.nodeId,
    // A worker must not drop off the tailnet when its node key expires (every 180 days by default).
    keyExpiryDisabled: true,
  }, keepDevice);
  const tags = new tailscale.DeviceTags(`${name}-device-tags`, { deviceId: device.nodeId, tags: config.tailscale.tags }, keepDevice);
  const address = device.addresses.apply((addresses) => {
    const v4 = addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
    if (!v4) throw new Error(`tailnet device ${worker} has no IPv4 address (got ${addresses.join(", ") || "none"})`);
    return v4;
  });
  return { address, resources: [join, deviceKey, tags] };
}
