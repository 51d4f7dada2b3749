// What the lab prints and records of a real `pulumi up`, from the engine's own event stream: one line when a
// command step starts and one when it ends (with the script's `step=… status=…` lines the provider logged), and
// every remote command executed, with when it started and ended as this process saw the events.
import type { EngineEvent, OpMap } from "@pulumi/pulumi/automation";

export type Operation = "create" | "update" | "replace" | "same" | "delete";

export interface Executed { name: string; op: string; seconds: number; startedAt: number; endedAt: number; ok: boolean }

const COMMAND_TYPE = "command:remote:Command";
// The steps that run a command on a host: create / update run `create` or `update`; a replacement's create runs
// `create`; deletes run the stored `delete` (when there is none the provider runs nothing: not counted).
const RUNS = new Set(["create", "update", "create-replacement", "delete", "delete-replaced"]);
const STATUS_LINE = /^step=\S+ host=\S+ status=/;
// A waiting step's progress line (host-scripts/lib.sh zf_progress_tick) and a wave's start line (fleet.ts):
// printed as the provider logs them, which is what an operator sees live in `pulumi up`.
export const PROGRESS_LINE = /^[a-z][a-z-]* host=\S+ waiting for .*, \d+s\/\d+s$/;
const WAVE_START = /-wave-\d+-start$/;
const COMMAND_URN = /\$command:(remote|local):Command::/;

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

export class EngineProgress {
  readonly executed: Executed[] = [];
  counts: Record<Operation, number> = { create: 0, update: 0, replace: 0, same: 0, delete: 0 };
  private readonly running = new Map<string, { op: string; startedAt: number; status: string[] }>();
  private readonly errors: string[] = [];

  constructor(private readonly started: number, private readonly print: (line: string) => void) {}

  readonly onEvent = (event: EngineEvent): void => {
    const now = Date.now();
    const pre = event.resourcePreEvent?.metadata;
    if (pre && pre.type === COMMAND_TYPE && RUNS.has(pre.op) && this.runsSomething(pre.op, pre.old?.inputs)) {
      this.running.set(pre.urn, { op: pre.op, startedAt: now, status: [] });
      this.print(`${this.at(now)}  ${pre.op.padEnd(18)} ${nameOf(pre.urn)}`);
    }
    const done = event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
    if (done) this.finish(done.urn, !event.resOpFailedEvent, now);
    const diag = event.diagnosticEvent;
    if (diag?.urn && this.running.has(diag.urn)) {
      for (const line of diag.message.split("\n")) {
        if (STATUS_LINE.test(line.trim())) this.running.get(diag.urn)!.status.push(line.trim());
        if (PROGRESS_LINE.test(line.trim())) this.print(`${this.at(now)}  ${"waiting".padEnd(18)} ${line.trim()}`);
      }
    }
    // What the program itself logs (pulumi.log.info on a component, e.g. how to promote a waiting release): the CLI
    // shows it under "Diagnostics:"; commands' output lines are ephemeral status messages and never land here.
    if (diag && diag.severity === "info" && !diag.ephemeral && diag.urn && !this.running.has(diag.urn) && !COMMAND_URN.test(diag.urn)) {
      this.print(`${this.at(now)}  ${"note".padEnd(18)} ${diag.message.trim()}`);
    }
    // The wave's line, once, from the echo's stdout output when it ran (the command also logs it as a status line, as
    // pulumi-command v1.2.1's local/commandOutputs.go does; only remote commands are followed line by line here).
    const started = event.resOutputsEvent?.metadata;
    const stdout = started?.new?.outputs?.stdout;
    if (started && WAVE_START.test(nameOf(started.urn)) && started.op !== "same" && typeof stdout === "string" && stdout.trim()) {
      this.print(`${this.at(now)}  ${stdout.trim()}`);
    }
    if (diag?.severity === "error") this.errors.push(`${diag.urn ? `${nameOf(diag.urn)}: ` : ""}${firstLines(diag.message)}`);
    if (event.summaryEvent) this.counts = tally(event.summaryEvent.resourceChanges);
  };

  /** The first error the engine reported, short: the provider's error repeats the whole command after it. */
  firstError(): string | undefined {
    return this.errors[0];
  }

  private runsSomething(op: string, oldInputs?: Record<string, unknown>): boolean {
    return !op.startsWith("delete") || typeof oldInputs?.delete === "string";
  }

  private finish(urn: string, ok: boolean, now: number): void {
    const run = this.running.get(urn);
    if (!run) return;
    this.running.delete(urn);
    const seconds = (now - run.startedAt) / 1000;
    this.executed.push({ name: nameOf(urn), op: run.op, seconds, startedAt: run.startedAt, endedAt: now, ok });
    const mark = ok ? "done" : "FAILED";
    this.print(`${this.at(now)}  ${mark.padEnd(18)} ${nameOf(urn)} (${seconds.toFixed(1)}s)${run.status.length ? `  ${run.status.join("; ")}` : ""}`);
  }

  private at(now: number): string {
    return `${((now - this.started) / 1000).toFixed(1).padStart(6)}s`;
  }
}

function firstLines(message: string): string {
  return message.trim().split("\n").slice(0, 2).join(" ").slice(0, 400);
}

function tally(changes: OpMap): Record<Operation, number> {
  const n = (op: string) => (changes as Record<string, number | undefined>)[op] ?? 0;
  return { create: n("create"), update: n("update"), replace: n("replace"), same: n("same"), delete: n("delete") };
}
