// How this `up` rolls a release out, from three config keys. PURE.
//
// - `canary-first` (the default): the canary, its gate, then the waves.
// - `canary-only`: `rollout.promote: manual` and `rollout.promoted` does not name this release: the canary and its
//   gate roll out, and the waves after it keep what they run until an operator promotes the release.
// - `rollback`: `rollout.rollback` names this release: no canary gate, every host in waves as large as
//   `rollout.maxUnavailable` allows (each host still drained); the release is on the hosts, so no download.
//
// Both `promoted` and `rollback` name a release instead of being switches: a promotion or a rollback applies to that
// release only and lapses by itself when the release changes, so it never carries over to the next one unnoticed.
// None of the three keys reaches a command's inputs or triggers (fingerprint.test.ts): they decide which hosts move
// and in which waves, never what a host's commands are, so changing them re-runs nothing by itself.
import { FleetConfig } from "../config/schema";
import type { RolloutPlan } from "./planner";

export type RolloutMode = "canary-first" | "canary-only" | "rollback";

export interface ModeDecision {
  mode: RolloutMode;
  /** Keys that apply to another release, or to nothing, and what became of them. */
  warnings: string[];
}

/** The mode of a fleet with `activeCount` workers taking part (a single one has no canary to stop after). */
export function rolloutMode(config: FleetConfig, activeCount: number): ModeDecision {
  const { promote, promoted, rollback } = config.rollout;
  const release = config.release.version;
  const warnings: string[] = [];
  if (rollback !== undefined && rollback !== release) {
    warnings.push(`rollout.rollback (${rollback}) is not release.version (${release}): ignored, this is a rollout with its canary gate; remove it`);
  }
  if (promoted !== undefined && promoted !== release && promote === "manual") {
    warnings.push(`rollout.promoted (${promoted}) is not release.version (${release}): it promotes nothing; the waves wait until it names ${release}`);
  }
  if (promoted !== undefined && promote === "auto") {
    warnings.push("rollout.promoted has no effect with rollout.promote: auto; remove it");
  }
  if (rollback === release) {
    if (promote === "manual" && promoted !== release) warnings.push(`rollout.promote: manual does not hold back a rollback: every wave of ${release} rolls out`);
    return { mode: "rollback", warnings };
  }
  if (promote === "manual" && promoted !== release) {
    if (activeCount > 1) return { mode: "canary-only", warnings };
    if (activeCount === 1) warnings.push("rollout.promote: manual has no canary to stop after (a single active worker): it rolls out");
  }
  return { mode: "canary-first", warnings };
}

/** The command that promotes `release` past its canary (docs/operations.md shows it). */
export function promoteCommand(release: string): string {
  return `pulumi config set --path 'rollout.promoted' ${release}`;
}

/** What `pulumi up` says while the waves wait (fleet.ts logs it): what ran, what waits, and how to promote. */
export function promotionNote(plan: Pick<RolloutPlan, "release" | "canary" | "waves">): string {
  const waiting = plan.waves.filter((w) => w.awaitingPromotion).flatMap((w) => w.hosts);
  return `rollout.promote is manual: this update rolls out ${plan.release} on the canary ${plan.canary} and its gate, ` +
    `then stops; ${waiting.length} more host${waiting.length === 1 ? "" : "s"} keep what they run until you promote it ` +
    `(${promoteCommand(plan.release)}, then pulumi up)`;
}

/** The line `pulumi up` prints as a wave starts (fleet.ts): its hosts, or that it waits for promotion. */
export function waveStartLine(args: {
  index: number; waves: number; hosts: string[]; canary: boolean; mode: RolloutMode; release: string; waiting: boolean;
}): string {
  const at = `wave ${args.index}/${args.waves - 1}`;
  const hosts = `${args.hosts.length} host${args.hosts.length === 1 ? "" : "s"}: ${args.hosts.join(" ")}`;
  if (args.waiting) return `${at} waits for the promotion of ${args.release} (${hosts})`;
  const what = args.canary ? "canary, then its gate" : args.mode === "rollback" ? `rollback to ${args.release}, no canary gate` : args.release;
  return `${at} starts (${what}), ${hosts}`;
}
