// The command provider's semantics, reproduced for the lab: create on first sight, replace when `triggers`
// change, update (run `update`, else `create` again) when any other input changes, nothing when nothing changed;
// `delete` runs the stored command with the stored connection. State is saved after every operation.
import { isDeepStrictEqual } from "node:util";
import { Registration, unwrapSecrets } from "./runtime";
import { Connection, RunResult, SshOptions, runOverSsh } from "./ssh";
import { EngineState, ResourceState, saveState } from "./state";

export type Operation = "create" | "update" | "replace" | "same" | "delete";

export interface ProgressEvent {
  op: Operation;
  name: string;
  phase: "start" | "end";
  ok?: boolean;
  seconds?: number;
  /** The script's `step=… status=…` lines, unless the command's logging is `none`. */
  statusLines?: string[];
}

export interface ProviderOptions {
  state: EngineState;
  statePath: string;
  ssh: SshOptions;
  onProgress: (event: ProgressEvent) => void;
}

const COMMAND_TYPES = new Set(["command:remote:Command"]);

/** Outcome counts of a run, by operation, and every remote command actually executed. */
export interface Executed { name: string; op: Operation; seconds: number; startedAt: number; endedAt: number; ok: boolean }
export interface Tally { counts: Record<Operation, number>; executed: Executed[] }

export class LabCommandProvider {
  readonly tally: Tally = { counts: { create: 0, update: 0, replace: 0, same: 0, delete: 0 }, executed: [] };
  readonly seen = new Set<string>();

  constructor(private readonly options: ProviderOptions) {}

  /** Answers one registration the way `pulumi up` would, executing it on its host when it must run. */
  async register(reg: Registration): Promise<{ id: string; state: Record<string, unknown> }> {
    this.seen.add(reg.urn);
    const inputs = unwrapSecrets(reg.inputs) as Record<string, unknown>;
    // A local command with nothing to run (the fleet's wave barriers) only exists in state.
    const runsNothing = reg.type === "command:local:Command" && inputs.create === undefined && inputs.delete === undefined;
    if (!COMMAND_TYPES.has(reg.type)) {
      if (reg.type.startsWith("command:") && !runsNothing) throw new Error(`${reg.name}: the lab engine cannot run ${reg.type}`);
      return { id: `${reg.name}-id`, state: inputs };
    }
    const old = this.options.state.resources[reg.urn];
    // ignoreChanges: the engine diffs (and stores) the old value of each ignored property (top-level paths only).
    if (old) for (const key of reg.ignoreChanges) if (key in old.inputs) inputs[key] = old.inputs[key];
    const op = operationFor(old, inputs);
    this.tally.counts[op]++;
    if (op === "same") {
      this.record({ ...old, dependencies: reg.dependencies, retainOnDelete: reg.retainOnDelete });
      return { id: `${reg.name}-id`, state: { ...inputs, ...old.outputs } };
    }
    const script = op === "update" && typeof inputs.update === "string" ? inputs.update : String(inputs.create ?? "");
    const result = await this.execute(op, reg.name, inputs, script);
    if (result.code !== 0) {
      const said = inputs.logging === "none" ? "output hidden (logging: none)" : lastLines(result);
      throw Object.assign(new Error(`${reg.name} ${op} failed (exit ${result.code}): ${said}`), { details: "command failed" });
    }
    const outputs = { stdout: result.stdout, stderr: result.stderr };
    this.record({ urn: reg.urn, type: reg.type, name: reg.name, inputs, outputs, dependencies: reg.dependencies, retainOnDelete: reg.retainOnDelete });
    if (op === "replace" && old && typeof old.inputs.delete === "string") await this.runDelete(old);
    return { id: `${reg.name}-id`, state: { ...inputs, ...outputs } };
  }

  /** Deletes a resource that left the program: its stored delete command, unless it is retained. */
  async remove(res: ResourceState): Promise<void> {
    this.tally.counts.delete++;
    if (COMMAND_TYPES.has(res.type) && !res.retainOnDelete && typeof res.inputs.delete === "string") {
      await this.runDelete(res);
    }
    delete this.options.state.resources[res.urn];
    saveState(this.options.statePath, this.options.state);
  }

  private async runDelete(res: ResourceState): Promise<void> {
    const result = await this.execute("delete", res.name, res.inputs, String(res.inputs.delete));
    if (result.code !== 0) throw new Error(`${res.name} delete failed (exit ${result.code}): ${lastLines(result)}`);
  }

  private async execute(op: Operation, name: string, inputs: Record<string, unknown>, script: string): Promise<RunResult> {
    const started = Date.now();
    this.options.onProgress({ op, name, phase: "start" });
    const statusLines: string[] = [];
    const quiet = inputs.logging === "none";
    const result = await runOverSsh(inputs.connection as Connection, script, inputs.stdin as string | undefined, {
      ...this.options.ssh,
      onLine: (_stream, line) => { if (!quiet && /^step=\S+ host=\S+ status=/.test(line)) statusLines.push(line); },
    });
    const endedAt = Date.now();
    const seconds = (endedAt - started) / 1000;
    this.tally.executed.push({ name, op, seconds, startedAt: started, endedAt, ok: result.code === 0 });
    this.options.onProgress({ op, name, phase: "end", ok: result.code === 0, seconds, statusLines });
    return result;
  }

  private record(res: ResourceState): void {
    this.options.state.resources[res.urn] = res;
    saveState(this.options.statePath, this.options.state);
  }
}

export function operationFor(old: ResourceState | undefined, inputs: Record<string, unknown>): Operation {
  if (!old) return "create";
  if (!isDeepStrictEqual(old.inputs.triggers ?? null, inputs.triggers ?? null)) return "replace";
  return isDeepStrictEqual(old.inputs, inputs) ? "same" : "update";
}

function lastLines(result: RunResult): string {
  const text = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-4).join(" | ");
  return text || "no output";
}
