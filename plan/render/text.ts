// The text view of a PlanReport, for a terminal, and the wording the markdown view shares with it. PURE.
import { formatDuration } from "../../config/duration";
import { ROLLOUT_STEPS, StepName } from "../../host/steps";
import type { PlanReport } from "../report";
import { promoteCommand } from "../rollout-mode";

/** What an operator reads before `pulumi up`: order, budgets, gates, worst case, and what to look out for. */
export function renderText(report: PlanReport): string {
  const active = Object.keys(report.workers).length;
  const nameWidth = Math.max(0, ...Object.keys(report.workers).map((name) => name.length));
  const lines = [
    `Rollout plan for stack ${report.stack} (${report.file})`,
    "",
    `  release  ${report.release}`,
    `  canary   ${report.canary ?? (active ? "none (a single active worker)" : "none (no active worker)")}`,
    `  hosts    ${count(active, "host")} in ${count(report.waves.length, "wave")}, ` +
      `at most ${report.maxUnavailable} out of service at once` +
      (report.held.length ? `, ${report.held.length} held` : ""),
    ...modeLines(report),
    "",
    "Step chain on each host (budget: the longest a step may take before it fails):",
    ...stepChainLines(report).map((line) => `  ${line}`),
    "",
    "Waves (each starts only after the previous wave's gate passed):",
    ...report.waves.flatMap((hosts, index) => waveLines(report, hosts, index, nameWidth)),
    ...(report.waves.length ? [] : ["  none: no active worker, nothing to roll out"]),
    "",
    `Worst case in total: ${formatDuration(report.estimate.worstCaseSeconds)} ` +
      "(every deadline spent in full, waves one after another; a healthy rollout is much faster" +
      `${report.mode === "canary-only" ? "; this `pulumi up` only: the canary's wave" : ""})`,
    "",
    ...reasonLines(report),
    ...heldLines(report),
    ...secretLines(report),
    ...warningLines(report),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}

/** One line per step: name, budget, and what it waits for. Shared with the markdown table. */
export function stepNotes(report: PlanReport): Record<StepName, string> {
  const p = report.policy;
  return {
    drain: `${p.drainSignal}, then wait for "${p.drainCompleteLog}"; past the deadline ` +
      (p.onDrainDeadline === "fail" ? "the rollout halts" : "the worker is stopped anyway"),
    stop: "systemctl stop zombied-worker (a worker still draining gets the unit's TimeoutStopSec)",
    deploy: "fetch both binaries, check sha256, switch the current link",
    "restart-executor": "restart zombied-executor, wait for its socket",
    "start-worker": "start zombied-worker",
    verify: `${p.verifyCommand}, then active for ${formatDuration(p.minHealthyTimeSeconds)}` +
      (p.autoRevert ? "; on failure revert to the previous release (budget covers both)" : ""),
    "canary-gate": `canary only: ${p.canaryRuns} successful runs, no new failures, OOM kills or landlock denials`,
  };
}

function stepChainLines(report: PlanReport): string[] {
  const notes = stepNotes(report);
  const steps: StepName[] = [...ROLLOUT_STEPS, ...(report.canary ? ["canary-gate" as const] : [])];
  const width = Math.max(...steps.map((s) => s.length));
  return steps.map((step, i) =>
    `${i + 1}. ${step.padEnd(width)}  ${formatDuration(report.stepBudgets[step]).padStart(7)}  ${notes[step]}`);
}

/** The mode line of the header: how this `up` differs from canary, gate, waves (none when it does not). */
function modeLines(report: PlanReport): string[] {
  const text = modeText(report);
  if (!text) return [];
  return [`  ${report.mode === "rollback" ? "rollback" : "promote "} ${text}`];
}

/** What a rollout mode does, in words; undefined for canary-first. Shared with markdown. */
export function modeText(report: PlanReport): string | undefined {
  switch (report.mode) {
    case "canary-first":
      return undefined;
    case "canary-only": {
      const waiting = report.waves.filter((_, i) => report.awaitingPromotion[i]);
      const last = report.waves.length - 1;
      return `manual: this \`pulumi up\` rolls out the canary ${report.canary} and its gate, then stops; ` +
        `waves 1-${last} (${count(waiting.flat().length, "host")}) wait for the promotion of ${report.release}: ` +
        promoteCommand(report.release);
    }
    case "rollback":
      return `${report.release}: no canary gate, waves of ${report.waves[0]?.length ?? 0} (rollout.maxUnavailable), ` +
        "every host drained; a host that holds the release skips the download";
    default: {
      const unknown: never = report.mode;
      throw new Error(`unknown rollout mode ${String(unknown)}`);
    }
  }
}

function waveLines(report: PlanReport, hosts: string[], index: number, width: number): string[] {
  const canary = report.gates[index] === "canary-gate";
  return [
    `  Wave ${index}${canary ? " (canary)" : ""}: ${count(hosts.length, "host")}, ` +
      `worst case ${formatDuration(report.estimate.perWave[index])}` +
      (report.awaitingPromotion[index] ? ", waits for promotion" : ""),
    ...hosts.map((name) => `    ${name.padEnd(width)}  ${report.workers[name].source.padEnd(8)}  ${report.workers[name].from}`),
    `    gate: ${gateText(report, index)}`,
  ];
}

/** What the next wave waits for, in words. Shared with the markdown table. */
export function gateText(report: PlanReport, index: number): string {
  const last = index === report.waves.length - 1;
  if (report.gates[index] === "canary-gate") {
    return `canary gate on ${report.canary} (${report.policy.canaryRuns} good runs within ` +
      `${formatDuration(report.stepBudgets["canary-gate"])})${last ? "" : ` before wave ${index + 1}`}`;
  }
  const who = report.waves[index].length === 1 ? report.waves[index][0] : `all ${report.waves[index].length} hosts`;
  return `verify on ${who}${last ? " (last wave)" : ` before wave ${index + 1}`}`;
}

/** Why each worker is in the rollout (--base), or that this needs a base. */
function reasonLines(report: PlanReport): string[] {
  const { reasons } = report;
  if (reasons.base === null) return [`Why each worker is in the rollout: ${reasons.notes.join("; ")}`, ""];
  const rows = reasonRows(report);
  const width = Math.max(...rows.map((r) => r.name.length));
  const waveWidth = Math.max(...rows.map((r) => r.wave.length));
  return [
    `Why each worker is in the rollout (compared with ${reasons.base}): ${reasonSummary(report)}`,
    ...rows.flatMap((r) => [
      `  ${r.name.padEnd(width)}  ${r.wave.padEnd(waveWidth)}  ${r.reasons}`,
      ...(r.changes.length ? [`      changed: ${r.changes.join("; ")}`] : []),
      `      runs: ${r.runs}`,
    ]),
    ...reasons.notes.map((note) => `  note: ${note}`),
    "",
  ];
}

export interface ReasonRow { name: string; wave: string; reasons: string; changes: string[]; runs: string }

/** One row per worker: active ones in wave order, then held, then removed. Shared with markdown. */
export function reasonRows(report: PlanReport): ReasonRow[] {
  const { reasons } = report;
  const active = report.waves.flat().map((name) => {
    const { wave, canary } = report.workers[name];
    return { name, wave: `wave ${wave}${canary ? " (canary)" : ""}` };
  });
  const held = report.held.map((h) => ({ name: h.name, wave: "held" }));
  return [
    ...[...active, ...held].map(({ name, wave }) => {
      const r = reasons.workers[name];
      return { name, wave, reasons: r.reasons.join(", "), changes: r.changes, runs: r.runs };
    }),
    ...reasons.removed.map((r) => ({ name: r.name, wave: "-", reasons: r.reason, changes: [], runs: r.runs })),
  ];
}

/** `3 of 5 active workers re-run, 2 unchanged, 1 held, 1 removed`. Shared with markdown. */
export function reasonSummary(report: PlanReport): string {
  const all = Object.values(report.reasons.workers);
  const active = report.waves.flat().map((name) => report.reasons.workers[name]);
  const rerun = active.filter((w) => !w.reasons.includes("unchanged")).length;
  const parts = [
    `${rerun} of ${count(active.length, "active worker")} re-run`,
    `${active.length - rerun} unchanged`,
    ...(report.held.length ? [`${report.held.length} held`] : []),
    ...(report.reasons.removed.length ? [`${report.reasons.removed.length} removed`] : []),
  ];
  return all.length || report.reasons.removed.length ? parts.join(", ") : "no workers";
}

function heldLines(report: PlanReport): string[] {
  if (!report.held.length) return [];
  const width = Math.max(...report.held.map((h) => h.name.length));
  return ["Held (keep their current release):", ...report.held.map((h) => `  ${h.name.padEnd(width)}  ${h.reason}`), ""];
}

function secretLines(report: PlanReport): string[] {
  return ["Secrets (values never shown):", ...secretSourceLines(report).map((line) => `  ${line}`), ""];
}

/** Where secrets come from, in words. Shared with markdown. */
export function secretSourceLines(report: PlanReport): string[] {
  const { environments, encrypted, plaintext } = report.secrets;
  const lines = environments.map((env) => `ESC environment ${env} (resolved by pulumi; not read offline)`);
  if (encrypted.length) lines.push(`encrypted in ${report.file}: ${encrypted.join(", ")}`);
  if (plaintext.length) lines.push(`PLAIN TEXT in ${report.file}: ${plaintext.join(", ")}`);
  if (!lines.length) lines.push("none set in the stack file");
  return lines;
}

function warningLines(report: PlanReport): string[] {
  if (!report.warnings.length) return ["No warnings."];
  return ["Warnings:", ...report.warnings.map((w) => `  ! ${w}`)];
}

/** `1 host`, `3 hosts`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
