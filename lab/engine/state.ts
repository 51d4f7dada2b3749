// The lab engine's state file: what Pulumi's state holds for the command provider, kept between runs.
// It holds secrets in plaintext (the lab's own throwaway key and fake secrets), so it is written mode 600.
import * as fs from "node:fs";
import * as path from "node:path";

export interface ResourceState {
  urn: string;
  type: string;
  name: string;
  /** Inputs with secrets unwrapped: a delete runs the stored command with the stored connection. */
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** URNs this resource depended on when it was last created or updated. */
  dependencies: string[];
  retainOnDelete: boolean;
}

export interface EngineState {
  version: 1;
  resources: Record<string, ResourceState>;
}

export function loadState(file: string): EngineState {
  if (!fs.existsSync(file)) return { version: 1, resources: {} };
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as EngineState;
  if (state.version !== 1) throw new Error(`${file}: unknown state version ${String(state.version)}`);
  return state;
}

/** Atomic (temp file + rename), so a killed engine leaves the last complete state behind. */
export function saveState(file: string, state: EngineState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 1), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * The order in which resources that left the program are deleted: dependents before what they depend on, as
 * the Pulumi engine does (so a decommission runs before its server goes).
 */
export function deletionOrder(doomed: ResourceState[]): ResourceState[][] {
  const left = new Map(doomed.map((r) => [r.urn, r]));
  const levels: ResourceState[][] = [];
  while (left.size) {
    const blocked = new Set([...left.values()].flatMap((r) => r.dependencies));
    const level = [...left.values()].filter((r) => !blocked.has(r.urn));
    if (level.length === 0) throw new Error(`dependency cycle among ${[...left.keys()].join(", ")}`);
    level.forEach((r) => left.delete(r.urn));
    levels.push(level);
  }
  return levels;
}
