// Reads the rollout order back out of what the program registered, to compare it with the plan.
import type { ProgramDump } from "./fixtures";
import { REMOTE } from "./fixtures";

const STEP_NAMES = ["drain", "stop", "deploy", "restart-executor", "start-worker", "verify", "canary-gate"];

/** `w1-restart-executor` → { host: "w1", step: "restart-executor" } for rollout steps; undefined otherwise. */
export function parseStep(name: string): { host: string; step: string } | undefined {
  const step = STEP_NAMES.find((s) => name.endsWith(`-${s}`));
  return step ? { host: name.slice(0, -(step.length + 1)), step } : undefined;
}

export interface StepNode { name: string; host: string; step: string; dependsOn: string[] }

/** Rollout step commands with the names of the resources they depend on. */
export function rolloutSteps(dump: ProgramDump): StepNode[] {
  const nameOf = new Map(dump.registrations.map((r) => [r.urn, r.name]));
  return dump.registrations
    .filter((r) => r.type === REMOTE && parseStep(r.name))
    .map((r) => ({ name: r.name, ...parseStep(r.name)!, dependsOn: r.dependencies.map((u) => nameOf.get(u) ?? u) }));
}

/** Layers hosts by the dependsOn edges between their steps: what the engine will run wave by wave. */
export function wavesFromGraph(dump: ProgramDump): string[][] {
  const steps = rolloutSteps(dump);
  const hostOf = new Map(steps.map((s) => [s.name, s.host]));
  const deps = new Map<string, Set<string>>();
  for (const s of steps) {
    const set = deps.get(s.host) ?? new Set<string>();
    for (const d of s.dependsOn) if (hostOf.has(d) && hostOf.get(d) !== s.host) set.add(hostOf.get(d)!);
    deps.set(s.host, set);
  }
  const waves: string[][] = [];
  const placed = new Set<string>();
  while (placed.size < deps.size) {
    const next = [...deps.keys()].filter((h) => !placed.has(h) && [...deps.get(h)!].every((d) => placed.has(d)));
    if (next.length === 0) throw new Error("the step graph has a cycle");
    waves.push(next);
    next.forEach((h) => placed.add(h));
  }
  return waves;
}
