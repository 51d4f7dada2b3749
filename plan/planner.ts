// The rollout plan: which hosts go in which wave, which steps each runs, and how long it may take at worst.
// PURE and deterministic: the program realises it as resources, the CLI prints it, tests compare both to it.
import { dialBudgetSeconds, jobLimitWarnings, setupWorstCase, unboundedWarnings } from "./budget";
import { FleetConfig, HostSource, resolveBatch } from "../config/schema";
import { CANARY_GATE, ROLLOUT_STEPS, SETUP_BOUNDS, STEP_BOUNDS, StepName, stepBudgets } from "../host/steps";
import { RolloutMode, rolloutMode } from "./rollout-mode";

export interface HostPlan {
  name: string;
  wave: number;
  canary: boolean;
  source: HostSource["kind"];
  steps: StepName[];
  /** The OS an adopted server is reinstalled with in this wave: after a drain and a stop, before its setup. */
  reinstall?: string;
  /** Its wave waits for the release's promotion (mode canary-only): the host keeps what it runs for now. */
  awaitingPromotion: boolean;
}

export interface WavePlan {
  index: number;
  hosts: string[];
  /** The step every host of the next wave waits for. */
  gate: "canary-gate" | "verify";
  /** Worst case for this wave, in seconds: every deadline of its slowest host spent in full, every dial retried. */
  worstCaseSeconds: number;
  /** Waits for the release's promotion (mode canary-only): this `up` runs nothing of it. */
  awaitingPromotion: boolean;
}

export interface RolloutPlan {
  release: string;
  /** canary-first, canary-only (waits for promotion after the canary) or rollback (rollout-mode.ts). */
  mode: RolloutMode;
  canary: string | null;
  waves: WavePlan[];
  hosts: Record<string, HostPlan>;
  held: { name: string; reason: string }[];
  /** Workers that may be out of service at once: rollout.maxUnavailable of the whole fleet, held and gone included. */
  maxUnavailable: number;
  /** Held and gone workers: out of service (or not to be relied on) before the rollout takes any host down. */
  alreadyUnavailable: number;
  /** `setupSeconds`: a new host's layout and tailnet join, once (hosts set up in parallel); then every wave this
   * `up` runs (not those waiting for promotion). */
  estimate: { worstCaseSeconds: number; setupSeconds: number };
  warnings: string[];
}

export function planRollout(config: FleetConfig): RolloutPlan {
  const active = config.workers.filter((w) => w.hold === undefined);
  const held = config.workers.filter((w) => w.hold !== undefined).map((w) => ({ name: w.name, reason: w.hold! }));
  const capacity = fleetCapacity(config);
  const { mode, warnings: modeWarnings } = rolloutMode(config, active.length);
  const canaryName = active.length > 1 && mode !== "rollback" ? chooseCanary(config, active.map((w) => w.name)) : null;
  const rest = active.filter((w) => w.name !== canaryName).map((w) => w.name);
  // A rollback goes back to a release the fleet ran: waves as large as the cap allows, no canary and no gate.
  const groups = mode === "rollback"
    ? batches(rest, [capacity.perWave], capacity.fleet, capacity.perWave)
    : [...(canaryName ? [[canaryName]] : []), ...batches(rest, config.rollout.waves, capacity.fleet, capacity.perWave)];
  const reinstalling = new Set(active.filter((w) => w.source.kind === "adopt" && w.source.reinstallOs).map((w) => w.name));
  const waves = groups.map((hosts, index) => {
    const gate = hosts[0] === canaryName ? "canary-gate" as const : "verify" as const;
    const reinstalls = hosts.some((name) => reinstalling.has(name));
    const awaitingPromotion = mode === "canary-only" && hosts[0] !== canaryName;
    return { index, hosts, gate, worstCaseSeconds: waveWorstCase(config, gate, reinstalls), awaitingPromotion };
  });
  const setupSeconds = waves.length ? setupWorstCase(config) : 0;
  const estimate = {
    worstCaseSeconds: waves.filter((w) => !w.awaitingPromotion).reduce((sum, w) => sum + w.worstCaseSeconds, setupSeconds),
    setupSeconds,
  };
  const hosts: Record<string, HostPlan> = {};
  const byName = new Map(active.map((w) => [w.name, w])); // a lookup per host: find() made 10,000 workers take 0.6 s
  for (const wave of waves) {
    for (const name of wave.hosts) {
      const worker = byName.get(name)!;
      const steps: StepName[] = [...ROLLOUT_STEPS, ...(name === canaryName ? [CANARY_GATE] : [])];
      const reinstall = worker.source.kind === "adopt" ? worker.source.reinstallOs : undefined;
      hosts[name] = {
        name, wave: wave.index, canary: name === canaryName, source: worker.source.kind, steps,
        ...(reinstall ? { reinstall } : {}), awaitingPromotion: wave.awaitingPromotion,
      };
    }
  }
  return {
    release: config.release.version,
    mode,
    canary: canaryName,
    waves,
    hosts,
    held,
    maxUnavailable: capacity.cap,
    alreadyUnavailable: capacity.alreadyOut,
    estimate,
    warnings: [
      ...modeWarnings,
      // A rollback's waves are the cap, not rollout.waves: those are not warned about.
      ...planWarnings(config, active.length, held, capacity, mode === "rollback" ? 0 : groups.length - (canaryName ? 1 : 0)),
      ...jobLimitWarnings(estimate.worstCaseSeconds),
      ...unboundedWarnings(config),
    ],
  };
}

/**
 * One population for both `waves` and `maxUnavailable`: every configured worker. Held and gone workers count as
 * already unavailable, so a wave takes at most `cap − alreadyOut` hosts (at least 1, with a warning). Marking a
 * dead host `gone` then never lets more live hosts go down at once. (Ansible `serial` resolves percentages
 * against the play's hosts; Nomad's `max_parallel` is a count of allocations updated at once.)
 */
export interface FleetCapacity { fleet: number; cap: number; alreadyOut: number; perWave: number }

export function fleetCapacity(config: FleetConfig): FleetCapacity {
  const fleet = config.workers.length;
  const cap = resolveBatch(config.rollout.maxUnavailable, fleet);
  const alreadyOut = config.workers.filter((w) => w.hold !== undefined).length; // gone workers are held too
  return { fleet, cap, alreadyOut, perWave: Math.max(1, cap - alreadyOut) };
}

function chooseCanary(config: FleetConfig, activeNames: string[]): string {
  // Held workers are not in `active`; the schema also rejects a held canary, this keeps the planner total.
  const flagged = config.workers.find((w) => w.canary && w.hold === undefined)?.name;
  return config.rollout.canary ?? flagged ?? activeNames[0];
}

/** Ansible `serial` semantics: each entry is a batch size, the last one repeats; every batch is capped. */
function batches(hosts: string[], sizes: (number | string)[], fleetSize: number, cap: number): string[][] {
  const out: string[][] = [];
  for (let i = 0, at = 0; at < hosts.length; i++) {
    const size = Math.min(resolveBatch(sizes[Math.min(i, sizes.length - 1)], fleetSize), cap);
    out.push(hosts.slice(at, at + size));
    at += size;
  }
  return out;
}

/**
 * A wave's hosts run in parallel: its worst case is one host's env and units (side by side), then its chain, each
 * command adding the time it may spend dialing (budget.ts). A reinstall drains and stops the host first, then waits
 * for OVH; the setup after it is counted as the setup of the whole fleet is (setupWorstCase).
 */
function waveWorstCase(config: FleetConfig, gate: WavePlan["gate"], reinstalls: boolean): number {
  const budget = stepBudgets(config);
  const dial = dialBudgetSeconds(config);
  const setup = Math.max(SETUP_BOUNDS.env, SETUP_BOUNDS.units) + dial;
  const chain = ROLLOUT_STEPS.reduce((sum, step) => sum + budget[step] + dial, 0);
  const reinstall = reinstalls ? budget.drain + budget.stop + 2 * dial + STEP_BOUNDS.reinstall : 0;
  return reinstall + setup + chain + (gate === "canary-gate" ? budget["canary-gate"] + dial : 0);
}

function planWarnings(
  config: FleetConfig, activeCount: number, held: RolloutPlan["held"], capacity: FleetCapacity, sizedWaves: number,
): string[] {
  const { cap, alreadyOut, perWave } = capacity;
  const warnings: string[] = [];
  if (activeCount === 1) warnings.push("a single worker has no canary protection: a bad release takes the whole fleet down");
  if (activeCount === 0) warnings.push("every worker is held: this rollout changes no host");
  for (const h of held) warnings.push(`${h.name} is held (${h.reason}): it keeps its current release`);
  // Only the entries the plan used: a default wave of 2 that a 2-worker fleet never reaches is not worth a warning.
  const heldNote = alreadyOut ? `, less ${alreadyOut} held or gone` : "";
  if (activeCount > 0 && alreadyOut >= cap) {
    warnings.push(`${alreadyOut} held or gone worker(s) already reach rollout.maxUnavailable (${config.rollout.maxUnavailable}: ${cap} of ${capacity.fleet}): the rollout still takes 1 host at a time, so ${alreadyOut + 1} will be out of service at once`);
  }
  config.rollout.waves.slice(0, sizedWaves).forEach((size, i) => {
    if (resolveBatch(size, capacity.fleet) > perWave) {
      warnings.push(`rollout.waves[${i}] (${size}) is capped at ${perWave} host(s) by rollout.maxUnavailable (${config.rollout.maxUnavailable}${heldNote})`);
    }
  });
  if (config.verify.metricsUrl === undefined && activeCount > 1) {
    warnings.push("verify.metricsUrl is not set: the canary gate can only watch the logs, not the run counters");
  } else if (config.verify.metricsUrl && !config.verify.metricsUrl.includes("{host}") && !/\/\/(127\.0\.0\.1|localhost)[:/]/.test(config.verify.metricsUrl) && activeCount > 1) {
    warnings.push("verify.metricsUrl names no {host} and is not local to the canary: the canary gate counts the sessions and failures of every worker that URL reports on, not the canary's alone");
  }
  return warnings;
}
