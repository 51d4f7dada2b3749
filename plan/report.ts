// The rollout plan of one stack file as a plain, serialisable object: what `npm run plan` prints in every format.
// PURE: built from the planner's RolloutPlan (the single source of truth for order) and the validated config; it
// adds only what an operator needs to read the plan (step budgets, where hosts and secrets come from).
import type { StackFile } from "../config/load";
import { FleetConfig, HostSource, OPAQUE_SECRET } from "../config/schema";
import { RolloutPlan, WavePlan, planRollout } from "./planner";
import { StepName, stepBudgets } from "../host/steps";
import type { RolloutMode } from "./rollout-mode";
import { ReasonsReport, reasonsWithoutBase } from "./diff";
import { hostSourceText } from "./host-source";

export interface WorkerReport {
  wave: number;
  canary: boolean;
  source: HostSource["kind"];
  /** Where the host comes from: the adopted service, the ordered plan, or the existing address. */
  from: string;
  steps: StepName[];
}

/** Where the stack's secrets come from. Names only: a value, even ciphertext, is never part of the report. */
export interface SecretSources {
  /** Pulumi ESC environments the stack imports (resolved by `pulumi`, not readable offline). */
  environments: string[];
  /** Secret config paths set as `secure:` values in the stack file. */
  encrypted: string[];
  /** Secret config paths whose value sits in the stack file as plain text. */
  plaintext: string[];
}

export interface PlanReport {
  stack: string;
  file: string;
  release: string;
  /** canary-first, canary-only (the waves after the canary wait for promotion) or rollback (rollout-mode.ts). */
  mode: RolloutMode;
  canary: string | null;
  /** Host names per wave; wave 0 is the canary alone when there is one. */
  waves: string[][];
  /** The step of a wave every host of the next wave waits for. */
  gates: WavePlan["gate"][];
  /** Per wave: it waits for the release's promotion, and this `up` runs nothing of it. */
  awaitingPromotion: boolean[];
  workers: Record<string, WorkerReport>;
  held: { name: string; reason: string }[];
  /** Seconds each step may take before it fails. */
  stepBudgets: Record<StepName, number>;
  policy: {
    drainSignal: string;
    drainCompleteLog: string;
    onDrainDeadline: "fail" | "proceed";
    verifyCommand: string;
    minHealthyTimeSeconds: number;
    autoRevert: boolean;
    canaryRuns: number;
  };
  /** Largest number of workers out of service at once. */
  maxUnavailable: number;
  estimate: { worstCaseSeconds: number; setupSeconds: number; perWave: number[] };
  secrets: SecretSources;
  /** Why each worker is in the rollout, compared with a base stack file (plan/diff.ts); `base: null` without one. */
  reasons: ReasonsReport;
  warnings: string[];
}

/** The report of a loaded stack file; `stack` names it in headings; `reasons` from compareStacks when given a base. */
export function buildReport(stack: string, file: string, stackFile: Pick<StackFile, "config" | "environments">, reasons?: ReasonsReport): PlanReport {
  const { config, environments } = stackFile;
  const plan = planRollout(config);
  const secrets = secretSources(config, environments);
  return {
    stack,
    file,
    release: plan.release,
    mode: plan.mode,
    canary: plan.canary,
    waves: plan.waves.map((w) => w.hosts),
    gates: plan.waves.map((w) => w.gate),
    awaitingPromotion: plan.waves.map((w) => w.awaitingPromotion),
    workers: workerReports(config, plan),
    held: plan.held,
    stepBudgets: stepBudgets(config),
    policy: {
      drainSignal: config.drain.signal,
      drainCompleteLog: config.drain.completeLog,
      onDrainDeadline: config.rollout.onDrainDeadline,
      verifyCommand: config.verify.command,
      minHealthyTimeSeconds: config.rollout.minHealthyTime,
      autoRevert: config.rollout.autoRevert,
      canaryRuns: config.rollout.canaryRuns,
    },
    maxUnavailable: plan.maxUnavailable,
    estimate: {
      worstCaseSeconds: plan.estimate.worstCaseSeconds,
      setupSeconds: plan.estimate.setupSeconds,
      perWave: plan.waves.map((w) => w.worstCaseSeconds),
    },
    secrets,
    reasons: reasons ?? reasonsWithoutBase(),
    warnings: [...plan.warnings, ...secrets.plaintext.map(plaintextWarning)],
  };
}

function workerReports(config: FleetConfig, plan: RolloutPlan): Record<string, WorkerReport> {
  const sources = new Map(config.workers.map((w) => [w.name, w.source]));
  const out: Record<string, WorkerReport> = {};
  for (const [name, host] of Object.entries(plan.hosts)) {
    const source = sources.get(name)!;
    out[name] = { wave: host.wave, canary: host.canary, source: source.kind, from: hostSourceText(source).from, steps: host.steps };
  }
  return out;
}

function secretSources(config: FleetConfig, environments: string[]): SecretSources {
  const entries: [string, string | undefined][] = [
    ["ssh.privateKey", config.ssh.privateKey],
    ...Object.entries(config.secrets).map(([key, value]): [string, string] => [`secrets.${key}`, value]),
  ];
  const set = entries.filter(([, value]) => value !== undefined);
  return {
    environments,
    encrypted: set.filter(([, value]) => value === OPAQUE_SECRET).map(([path]) => path),
    plaintext: set.filter(([, value]) => value !== OPAQUE_SECRET).map(([path]) => path),
  };
}

// A secret committed in plain text is readable by anyone with the repository; say so, naming the path only.
function plaintextWarning(path: string): string {
  return `${path} is plain text in the stack file; set it with \`pulumi config set --secret --path '${path}'\``;
}
