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

/**
 * Rollout step commands with the names of the steps they wait for: direct dependencies that are steps, and the
 * nearest steps behind any other resource in between (a wave barrier, a host's env or units).
 */
export function rolloutSteps(dump: ProgramDump): StepNode[] {
  const byUrn = new Map(dump.registrations.map((r) => [r.urn, r]));
  const isStep = (urn: string) => { const r = byUrn.get(urn); return !!r && r.type === REMOTE && !!parseStep(r.name); };
  const memo = new Map<string, Set<string>>();
  const nearestSteps = (urn: string): Set<string> => {
    let found = memo.get(urn);
    if (found) return found;
    found = new Set();
    memo.set(urn, found);
    for (const dep of byUrn.get(urn)?.dependencies ?? []) {
      if (isStep(dep)) found.add(byUrn.get(dep)!.name);
      else for (const name of nearestSteps(dep)) found.add(name);
    }
    return found;
  };
  return dump.registrations
    .filter((r) => isStep(r.urn))
    .map((r) => ({ name: r.name, ...parseStep(r.name)!, dependsOn: [...nearestSteps(r.urn)] }));
}

/** Names of every resource `name` waits for, directly or through others. */
export function ancestors(dump: ProgramDump, name: string): Set<string> {
  const byUrn = new Map(dump.registrations.map((r) => [r.urn, r]));
  const start = dump.registrations.find((r) => r.name === name);
  const seen = new Set<string>();
  const stack = [...(start?.dependencies ?? [])];
  while (stack.length) {
    const urn = stack.pop()!;
    const r = byUrn.get(urn);
    if (!r || seen.has(r.name)) continue;
    seen.add(r.name);
    stack.push(...r.dependencies);
  }
  return seen;
}

/** Every dependency edge the program sends the engine (dependsOn and data dependencies). */
export function edgeCount(dump: ProgramDump): number {
  return dump.registrations.reduce((sum, r) => sum + r.dependencies.length, 0);
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
