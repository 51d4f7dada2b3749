// What the plan says of each kind of host (config `workers[].ovh` / `.host`): the one switch over HostSource the
// plan's texts read. PURE.
import { HostSource } from "../config/schema";

export interface HostSourceText {
  /** Where the host comes from, in the plan's table of workers. */
  from: string;
  /** What identifies the host: a change of it re-runs every command of the worker (a new connection). */
  identity: string;
  /** What a new host gets before its rollout chain besides the tailnet ("" for none). */
  setUp: string;
  /** What happens to the server when the worker is removed. */
  onRemove: string;
}

export function hostSourceText(source: HostSource): HostSourceText {
  switch (source.kind) {
    case "adopt": {
      const reinstall = source.reinstallOs;
      return {
        from: `OVH server ${source.serviceName}${reinstall
          ? `, REINSTALLED with ${reinstall} in its wave (drain, stop, reinstall, then its whole setup)` : ""}`,
        identity: `OVH ${source.serviceName}${reinstall ? ` reinstalled with ${reinstall}` : ""}`,
        setUp: "adopt the OVH server",
        onRemove: ovhOnRemove(source.cancelServiceOnDestroy),
      };
    }
    case "order":
      return {
        from: `new OVH ${source.order.plan} in ${source.order.datacenter} (${source.order.os})`,
        // Edits of a delivered order are ignored (ovh.ts ignoreChanges): they change nothing.
        identity: "ordered OVH server",
        setUp: "order the OVH server",
        onRemove: ovhOnRemove(source.cancelServiceOnDestroy),
      };
    case "existing":
      return {
        from: `existing host ${source.address}`,
        identity: source.address,
        setUp: "",
        onRemove: `existing host ${source.address} is left as it is`,
      };
    default: {
      const unknown: never = source;
      throw new Error(`unknown host source ${JSON.stringify(unknown)}`);
    }
  }
}

const ovhOnRemove = (cancel: boolean) => (cancel
  ? "then its OVH service is CANCELLED (cancelServiceOnDestroy)"
  : "its OVH server and contract are kept (cancelServiceOnDestroy is off)");
