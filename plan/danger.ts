// Changes that run nothing now but make a later step destructive: the plan names them first among its notes, so
// a reviewer does not approve them as "0 workers re-run". PURE.
import { FleetConfig, WorkerConfig } from "../config/schema";

/** One note per worker whose removal would now cancel its OVH contract, or no longer would. */
export function dangerNotes(base: FleetConfig, head: FleetConfig): string[] {
  const before = new Map(base.workers.map((w) => [w.name, w]));
  return head.workers.flatMap((w, i) => {
    const was = before.get(w.name);
    const [then, now] = [was && cancels(was), cancels(w)];
    if (was === undefined || then === now) return [];
    const where = `workers[${i}].ovh.cancelServiceOnDestroy`;
    return now
      ? [`DANGER: ${w.name}: ${where} false → true: from this rollout on, removing this worker from the stack CANCELS ` +
        "its OVH server contract (the server is terminated by OVH, not kept)"]
      : [`${w.name}: ${where} true → false: removing this worker will keep its OVH server and contract`];
  });
}

function cancels(w: WorkerConfig): boolean {
  return w.source.kind !== "existing" && w.source.cancelServiceOnDestroy;
}
