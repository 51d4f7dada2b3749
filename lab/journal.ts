// What a rollout did on each lab host, read from the host's own journal (not from the engine's events): the lab
// scenarios and bench:lab judge waves, the cap and latencies from what the hosts saw. All hosts share the
// machine's clock (nspawn containers), so their times compare directly.
import { LabHosts } from "./hosts";
import { onHost } from "./rehearsal";

/** Epoch seconds of journal lines of `units` matching `pattern` (ERE) since `since` (epoch s). */
export async function journalTimes(lab: LabHosts, host: string, units: string, pattern: string, since: number): Promise<number[]> {
  const out = await onHost(lab, host, `journalctl ${units} -o short-unix --no-pager --since @${Math.floor(since)} | grep -E '${pattern}' || true`);
  return out.split("\n").filter(Boolean).map((line) => Number(line.split(" ")[0]));
}

/** One host's rollout as its journal tells it (epoch s; NaN when a line never came). */
export interface HostRollout {
  host: string;
  /** The worker got the drain signal (zombied logs "drain start"). */
  drainStart: number;
  /** It finished its in-flight runs ("drain complete"). */
  drainDone: number;
  /** The executor began to stop (the restart of both units). */
  executorStopping: number;
  /** The worker was started again: the host is back in service. */
  workerStarted: number;
  /** SSH sessions the host's sshd accepted, in order. */
  sessions: number[];
}

/** The first rollout of `host` after `since`, from the worker's, executor's and sshd's journals. */
export async function hostRollout(lab: LabHosts, host: string, since: number): Promise<HostRollout> {
  const first = async (units: string, pattern: string) => (await journalTimes(lab, host, units, pattern, since))[0] ?? NaN;
  const drainStart = await first("-u zombied-worker", "drain start");
  return {
    host,
    drainStart,
    drainDone: await first("-u zombied-worker", "drain complete"),
    executorStopping: await first("-u zombied-executor", "Stopping zombied-executor"),
    workerStarted: (await journalTimes(lab, host, "-u zombied-worker", "Started zombied-worker", since)).find((t) => t >= drainStart) ?? NaN,
    sessions: await journalTimes(lab, host, "-u ssh", "Accepted publickey", since),
  };
}

/** The most hosts out of service (drain start → worker started) at any one instant. */
export function peakOutOfService(rollouts: HostRollout[]): number {
  const edges = rollouts.flatMap((r) => [{ t: r.drainStart, d: 1 }, { t: r.workerStarted, d: -1 }]);
  // At equal times a host coming back counts before one going out: they were not out together.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (now += e.d));
  return peak;
}
