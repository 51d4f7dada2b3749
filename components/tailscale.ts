// Joins a worker host to the tailnet: a single-use pre-authorized key, a join over the public address (key on
// stdin only), the device looked up after the join, key expiry off and the fleet's tags enforced.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { FleetConfig } from "./config";
import { tailnetJoinSpec } from "./host-commands";
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
    // Keys are single-use and short-lived, and every field forces a new key: naming the host's identity here
    // gives a reinstalled host (new identity) a fresh key for its new join.
    description: pulumi.interpolate`zombie-fleet ${worker} ${args.hostIdentity}`,
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

  const device = tailscale.getDeviceOutput({ hostname: worker, waitFor: "120s" }, { parent, dependsOn: [join] });
  const deviceKey = new tailscale.DeviceKey(`${name}-device-key`, {
    deviceId: device.nodeId,
    // A worker must not drop off the tailnet when its node key expires (every 180 days by default).
    keyExpiryDisabled: true,
  }, { parent });
  const tags = new tailscale.DeviceTags(`${name}-device-tags`, { deviceId: device.nodeId, tags: config.tailscale.tags }, { parent });
  const address = device.addresses.apply((addresses) => {
    const v4 = addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
    if (!v4) throw new Error(`tailnet device ${worker} has no IPv4 address (got ${addresses.join(", ") || "none"})`);
    return v4;
  });
  return { address, resources: [join, deviceKey, tags] };
}
