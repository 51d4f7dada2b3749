// Runs the real Pulumi program under Pulumi's mock runtime and records every resource registration as the
// engine would receive it: type, name, URN, parent, inputs (secrets still wrapped), dependsOn URNs, options.
// Used by the program tests (test/program): the mock runtime records every registration.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";

/** Pulumi's marker for a secret value on the wire (sdk/nodejs/runtime/rpc.ts specialSigKey/specialSecretSig). */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface Registration {
  urn: string;
  type: string;
  name: string;
  parent: string;
  custom: boolean;
  /** Inputs as the engine gets them; secret values stay wrapped as `{ [SIG_KEY]: SECRET_SIG, value }`. */
  inputs: Record<string, unknown>;
  /** URNs this resource depends on (dependsOn and data dependencies). */
  dependencies: string[];
  retainOnDelete: boolean;
  ignoreChanges: string[];
  /** Input paths whose change replaces the resource (the command SDK adds `triggers[*]` to every command). */
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
}

export interface NewResourceResult { id: string; state: Record<string, unknown> }
export type NewResource = (reg: Registration) => Promise<NewResourceResult>;

/** A message the program logged (pulumi.log), as the engine would show it. */
export interface LogEntry { severity: string; message: string }

export interface ProgramRun {
  registrations: Registration[];
  /** What the program logged through pulumi.log. */
  logs: LogEntry[];
  /** The program module's exports (stack outputs), resolved where they could be. */
  exports: Record<string, unknown>;
  /** The error that stopped the program (bad config, a failed resource), if any. */
  error?: Error;
}

export interface RunOptions {
  /** Full config keys (`zombie-fleet:workers`) to JSON-encoded or plain string values. */
  config: Record<string, string>;
  secretKeys?: string[];
  stack?: string;
  /** Answers a registration; the default returns its inputs as state. */
  newResource?: NewResource;
  /** Answers invokes (data sources) by token; the default echoes the inputs. */
  call?: (token: string, inputs: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** How long the runtime may be idle before the run counts as finished (a failed dependency never resolves). */
  idleMs?: number;
  programPath?: string;
}

export function isSecretWrapper(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replaces secret wrappers with their plain values (for executing a command, never for logging). */
export function unwrapSecrets(value: unknown): unknown {
  if (isSecretWrapper(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Runs the program once in this process. Call once per process (the runtime is process-global). */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
  const registrations: Registration[] = [];
  const errors: Error[] = [];
  const activity = { last: Date.now(), pending: 0 };
  const newResource = options.newResource ?? (async (reg) => ({ id: `${reg.name}-id`, state: unwrapSecrets(reg.inputs) as Record<string, unknown> }));
  await pulumi.runtime.setMocks({
    newResource: async () => { throw new Error("replaced by the recording monitor"); },
    call: async (args) => (options.call ? options.call(args.token, args.inputs) : { ...args.inputs }),
  }, "zombie-fleet", options.stack ?? "test", false);
  pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
  wrapMonitor(registrations, newResource, (err) => errors.push(err), activity);

  const onRejection = (reason: unknown) => { errors.push(reason instanceof Error ? reason : new Error(String(reason))); };
  // Without an engine the SDK's pulumi.log writes `<severity>: [runtime] <message>` with console.log
  // (sdk/nodejs/log/index.ts): recorded here, and kept off stdout, which carries the dump.
  const logs: LogEntry[] = [];
  const consoleLog = console.log;
  console.log = (...args: unknown[]) => {
    const m = /^(debug|info|warning|error): \[runtime\] ([^]*)$/.exec(args.map(String).join(" "));
    if (m) logs.push({ severity: m[1], message: m[2] });
    else console.error(...args);
  };
  process.on("unhandledRejection", onRejection);
  // A failed mock rejects its outputs, and an Output built on them (a worker's reported release) then fails the
  // serialization of the outputs that hold it, thrown outside any promise chain. The engine instead answers a failed
  // step as failed (outputs unknown) or cancels (outputs left pending): either way, only the failure is recorded.
  process.on("uncaughtException", onRejection);
  let exports: Record<string, unknown> = {};
  try {
    exports = await import(options.programPath ?? path.join(__dirname, "..", "..", "..", "index.ts"));
  } catch (err) {
    errors.push(err as Error);
  }
  // Every registration holds an RPC keep-alive until it completes: when they are all done, so is the program.
  // A resource whose dependency failed never completes, so once something failed, idleness ends the run instead.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const allDone = (settings as any).waitForRPCs() as Promise<void>;
  await Promise.race([allDone, waitUntilIdle(activity, options.idleMs ?? 1000, () => errors.length > 0)]);
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onRejection);
  console.log = consoleLog;
  return { registrations, logs, exports, error: errors[0] };
}

/** Records each RegisterResource request, then lets `newResource` answer it, as the engine would. */
function wrapMonitor(
  out: Registration[], newResource: NewResource, onError: (err: Error) => void, activity: Activity,
): void {
  const touch = () => { activity.last = Date.now(); };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const monitor = settings.getMonitor() as any;
  const original = monitor.registerResource.bind(monitor);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerResource = (req: any, callback: (err: unknown, res?: unknown) => void) => {
    touch();
    const reg: Registration = {
      urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      custom: req.getCustom(),
      inputs: pulumi.runtime.deserializeProperties(req.getObject(), true),
      dependencies: req.getDependenciesList(),
      retainOnDelete: req.getRetainondelete?.() ?? false,
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
    };
    out.push(reg);
    activity.pending++;
    // MockMonitor.registerResource calls mocks.newResource synchronously on entry, so this answers this request.
    monitor.mocks.newResource = async () => {
      try {
        return reg.custom ? await newResource(reg) : { id: undefined, state: {} };
      } catch (err) {
        onError(err as Error);
        throw err;
      } finally {
        activity.pending--;
        touch();
      }
    };
    original(req, callback);
  };
}

interface Activity { last: number; pending: number }

/**
 * The program is done when no resource is being created and nothing new was registered for `idleMs`: a resource
 * whose dependency failed never registers, so waiting for every Output would hang (facts/pulumi.md).
 */
async function waitUntilIdle(activity: Activity, idleMs: number, failed: () => boolean): Promise<void> {
  while (!failed() || activity.pending > 0 || Date.now() - activity.last < idleMs) {
    await new Promise((resolve) => setTimeout(resolve, idleMs / 3));
  }
}
