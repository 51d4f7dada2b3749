// Why each worker is in the rollout: compares the stack file as it was (the base, e.g. main's) with the one about to
// be applied (the head), part by part of the host fingerprint (fingerprint.ts), and says per worker whether its step
// chain runs again and why. PURE and offline like the plan: secrets are compared by their `secure:` ciphertext and
// by the ESC environments the stack imports, never by value (the CLI never sees a plaintext), and no ciphertext or
// secret value is ever part of the result, only config paths.
import { StackFile, formatPath } from "../config/load";
import { FleetConfig, OPAQUE_SECRET, WorkerConfig } from "../config/schema";
import { formatDuration } from "../config/duration";
import { dangerNotes } from "./danger";
import { hostSourceText } from "./host-source";
import { renderEnvFile } from "../host/env";
import { CONTRACT_CONFIG_PATHS, contractHash, envTextHash, releaseHash, unitsHash } from "../host/fingerprint";
import { HostPlan, planRollout } from "./planner";
import { SETUP_COMMANDS } from "../host/commands";
import { ProgramChange, programReruns } from "./program-digest";
import { rolloutStepInputs } from "../host/step-inputs";
import { renderUnits } from "../host/units";
import { sha256 } from "../host/sha256";

/** Why a worker of the head stack is (or is not) in the rollout, in the order an operator reads them. */
export const REASONS = [
  "new host", "hold lifted", "release change", "env change", "unit change", "drain/verify contract change",
  "host change", "program change", "canary gate change", "held", "unchanged",
] as const;
export type Reason = (typeof REASONS)[number];
export const REMOVED = "removed (will be drained and decommissioned)";
export const REMOVED_GONE = "removed (gone: dropped from state, nothing runs on it)";

export interface WorkerReasons {
  reasons: Reason[];
  /** What changed, as config paths (values only where they are not secret). */
  changes: string[];
  /** What `pulumi up` runs on this host. */
  runs: string;
}

export interface RemovedWorker {
  name: string;
  reason: typeof REMOVED | typeof REMOVED_GONE;
  runs: string;
}

export interface ReasonsReport {
  /** The stack file compared against; null when the plan was made without --base. */
  base: string | null;
  /** Every worker of the head stack (active and held), by name. */
  workers: Record<string, WorkerReasons>;
  removed: RemovedWorker[];
  notes: string[];
}

export const NEEDS_BASE = "reasons need a base: run with --base FILE, the stack file as it was before " +
  "(in a pull request: git show origin/main:Pulumi.prod.yaml > base.yaml)";

/** The reasons section of a plan made without --base. */
export function reasonsWithoutBase(): ReasonsReport {
  return { base: null, workers: {}, removed: [], notes: [NEEDS_BASE] };
}

/** A loaded stack file plus digests of its `secure:` ciphertexts, by config path. */
export interface StackSnapshot extends StackFile {
  secure: Record<string, string>;
}

/** A loaded stack file (loadStackFile) with each `secure:` value it holds reduced to a sha256. */
export function stackSnapshot(stackFile: StackFile): StackSnapshot {
  const secure: Record<string, string> = {};
  for (const [name, value] of Object.entries(stackFile.written)) collectSecure(value, [name], secure);
  return { ...stackFile, secure };
}

function collectSecure(value: unknown, path: (string | number)[], out: Record<string, string>): void {
  if (Array.isArray(value)) value.forEach((v, i) => collectSecure(v, [...path, i], out));
  else if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === "secure") out[formatPath(path)] = sha256(String(entries[0][1]));
    else for (const [k, v] of entries) collectSecure(v, [...path, k], out);
  }
}

type FleetPart = { reason: Reason; changes: string[] };

/**
 * Per worker of `head`, why it re-runs compared with `base`; `baseFile` names the base in headings. `program`: what
 * a change of the program itself re-runs (`--base <git ref>`, cli/base-ref.ts).
 */
export function compareStacks(base: StackSnapshot, head: StackSnapshot, baseFile: string, program?: ProgramChange): ReasonsReport {
  const plan = planRollout(head.config);
  const fleetParts = fleetWideChanges(base, head);
  if (program?.changes.length) fleetParts.push({ reason: "program change", changes: program.changes });
  const before = new Map(base.config.workers.map((w) => [w.name, w]));
  const ctx: Context = { base, head, baseCanary: planRollout(base.config).canary, program };
  const workers: Record<string, WorkerReasons> = {};
  for (const worker of head.config.workers) {
    workers[worker.name] = workerReasons(worker, before.get(worker.name), plan.hosts[worker.name], fleetParts, ctx);
  }
  const names = new Set(head.config.workers.map((w) => w.name));
  const removed = base.config.workers.filter((w) => !names.has(w.name)).map((w) => removedWorker(w, base.config));
  return { base: baseFile, workers, removed, notes: [...dangerNotes(base.config, head.config), ...notes(head)] };
}

interface Context { base: StackSnapshot; head: StackSnapshot; baseCanary: string | null; program?: ProgramChange }

function workerReasons(
  worker: WorkerConfig, before: WorkerConfig | undefined, host: HostPlan | undefined, fleetParts: FleetPart[],
  ctx: Context,
): WorkerReasons {
  const setUp = hostSetUp(worker, ctx.head.config);
  if (!host) { // held (or gone) in the head stack: nothing of its rollout runs
    const held = `held: ${worker.hold}`;
    return before
      ? { reasons: ["held"], changes: [], runs: `nothing (${held}; keeps its current release)` }
      : { reasons: ["new host", "held"], changes: [], runs: [...setUp, `no rollout (${held})`].join(", ") };
  }
  const chain = `layout, .env, units, then ${host.steps.join(" → ")}`;
  // A host whose wave waits for promotion keeps the inputs its commands have (ignoreChanges, worker.ts); one that
  // has no chain yet has none to keep, so it is created, promotion or not.
  const created = host.awaitingPromotion ? "; not held back by rollout.promote: manual (a new chain has no earlier inputs to keep)" : "";
  if (!before) return { reasons: ["new host"], changes: [], runs: [...setUp, chain].join(", ") + created };
  if (before.hold !== undefined) {
    return { reasons: ["hold lifted"], changes: [`hold removed (was: ${before.hold})`], runs: chain + created };
  }
  const parts = [...fleetParts];
  const hostChanges = connectionChanges(before, worker, ctx.base, ctx.head);
  if (hostChanges.length) parts.push({ reason: "host change", changes: hostChanges });
  if (!parts.length && host.canary) {
    const gate = canaryGateChanges(worker.name, ctx);
    if (gate.length) parts.push({ reason: "canary gate change", changes: gate });
  }
  const reasons = REASONS.filter((r) => parts.some((p) => p.reason === r));
  const changes = [...new Set(parts.flatMap((p) => p.changes))];
  if (!reasons.length) return { reasons: ["unchanged"], changes: [], runs: "nothing" };
  const runs = whatRuns(reasons, host, ctx.program, ctx.head.config);
  return { reasons, changes, runs: host.awaitingPromotion ? `nothing yet: waits for the promotion of ${ctx.head.config.release.version} (then ${runs})` : runs };
}

/** What a new host gets before its rollout chain: its server and tailnet device, when it has them. */
function hostSetUp(worker: WorkerConfig, config: FleetConfig): string[] {
  return [hostSourceText(worker.source).setUp, config.tailscale.enabled ? "join the tailnet" : ""].filter(Boolean);
}

function whatRuns(reasons: Reason[], host: HostPlan, program: ProgramChange | undefined, config: FleetConfig): string {
  if (reasons.includes("program change") && program) return withProgram(reasons, host, program, config);
  if (reasons.length === 1 && reasons[0] === "canary gate change") return "canary-gate only (nothing is drained)";
  const rewrite = [reasons.includes("env change") && ".env", reasons.includes("unit change") && "units"];
  const first = rewrite.filter(Boolean).length ? `rewrite ${rewrite.filter(Boolean).join(" and ")}, then ` : "";
  // Only the release is in the deploy step's trigger; a new connection updates (re-runs) every command.
  const all = reasons.includes("release change") || reasons.includes("host change");
  if (all) return `${first}${host.steps.join(" → ")}`;
  const chain = host.steps.filter((s) => s !== "deploy").join(" → ");
  return `${first}${chain} (no download: the release is unchanged)`;
}

/** What runs when the program changed too: its commands joined with those the stack's reasons re-run. */
function withProgram(reasons: Reason[], host: HostPlan, program: ProgramChange, config: FleetConfig): string {
  const setup = SETUP_COMMANDS.filter((c) => c !== "tailnet" || config.tailscale.enabled);
  const runs = new Set<string>(programReruns(program, setup, host.steps));
  const stack = reasons.filter((r) => r !== "program change");
  if (stack.includes("env change")) runs.add("env");
  if (stack.includes("unit change")) runs.add("units");
  if (stack.includes("canary gate change")) runs.add("canary-gate");
  if (stack.some((r) => r !== "canary gate change")) {
    const all = stack.includes("release change") || stack.includes("host change");
    for (const s of host.steps) if (all || s !== "deploy") runs.add(s);
  }
  const order = [...setup, ...host.steps].filter((s) => runs.has(s));
  if (!order.length) return "nothing on the host (only stored commands change)";
  const download = runs.has("deploy") ? "" : " (no download: the release is unchanged)";
  return `${order.join(" → ")}${download}`;
}

/** The fingerprint parts every active worker shares: release, env, units, contract. */
function fleetWideChanges(base: StackSnapshot, head: StackSnapshot): FleetPart[] {
  const b = base.config;
  const h = head.config;
  const parts: FleetPart[] = [];
  if (releaseHash(b) !== releaseHash(h)) parts.push({ reason: "release change", changes: releaseChanges(b, h) });
  if (envIdentity(base) !== envIdentity(head)) parts.push({ reason: "env change", changes: envChanges(base, head) });
  if (unitsHash(renderUnits(b)) !== unitsHash(renderUnits(h))) {
    parts.push({ reason: "unit change", changes: pathChanges(b, h, UNIT_PATHS) });
  }
  if (contractHash(b) !== contractHash(h)) {
    parts.push({ reason: "drain/verify contract change", changes: pathChanges(b, h, CONTRACT_CONFIG_PATHS) });
  }
  return parts;
}

// The config paths behind the units part, to say what changed (the hash decides whether).
const UNIT_PATHS = ["units.workerPartOfExecutor", "drain.signal", "rollout.drainDeadline"];

function releaseChanges(b: FleetConfig, h: FleetConfig): string[] {
  if (b.release.version !== h.release.version) return [`release.version ${b.release.version} → ${h.release.version}`];
  return (["worker", "executor"] as const).filter((a) => b.release[a].sha256 !== h.release[a].sha256)
    .map((a) => `release.${a}.sha256 (same version, new bytes)`);
}

/** Each secret's identity: the digest of its `secure:` ciphertext, or its plain value. Never shown. */
function secretIdentities(s: StackSnapshot): Record<string, string> {
  return Object.fromEntries(Object.entries(s.config.secrets).map(([key, value]) =>
    [key, value === OPAQUE_SECRET ? `secure:${s.secure[formatPath(["secrets", key])] ?? ""}` : value]));
}

/** The .env text as the host would get it, each `secure:` secret standing in as its ciphertext digest. */
function envIdentity(s: StackSnapshot): string {
  const text = renderEnvFile({ env: s.config.env, secrets: secretIdentities(s) });
  return `${envTextHash(text)} ${s.environments.join(",")}`;
}

function envChanges(base: StackSnapshot, head: StackSnapshot): string[] {
  const [b, h] = [base.config.env, head.config.env];
  const secretChange = (key: string) =>
    (head.config.secrets[key] === OPAQUE_SECRET ? "(new ciphertext)" : "(new value)");
  const out = [
    ...keyChanges("env", b, h, (key) => `${JSON.stringify(short(b[key]))} → ${JSON.stringify(short(h[key]))}`),
    ...keyChanges("secrets", secretIdentities(base), secretIdentities(head), secretChange),
  ];
  if (base.environments.join(",") !== head.environments.join(",")) {
    out.push(`ESC imports [${base.environments.join(", ")}] → [${head.environments.join(", ")}]`);
  }
  return out;
}

type Values = Record<string, string>;
function keyChanges(section: string, b: Values, h: Values, change: (key: string) => string): string[] {
  return [...new Set([...Object.keys(b), ...Object.keys(h)])].sort().flatMap((key) => {
    const path = formatPath([section, key]);
    if (!(key in b)) return [`${path} (added)`];
    if (!(key in h)) return [`${path} (removed)`];
    return b[key] === h[key] ? [] : [`${path} ${change(key)}`];
  });
}

/** `path before → after` for each listed (non-secret) config path whose value differs. */
function pathChanges(b: FleetConfig, h: FleetConfig, paths: string[]): string[] {
  return paths.flatMap((path) => {
    const [x, y] = [valueAt(b, path), valueAt(h, path)];
    return JSON.stringify(x) === JSON.stringify(y) ? [] : [`${path} ${showValue(path, x)} → ${showValue(path, y)}`];
  });
}

/** Everything a command's connection (or its host) is made of: a change updates every command of the host. */
function connectionChanges(b: WorkerConfig, h: WorkerConfig, base: StackSnapshot, head: StackSnapshot): string[] {
  const of = (w: WorkerConfig, s: StackSnapshot): Record<string, unknown> => ({
    host: hostSourceText(w.source).identity,
    "ssh.user": s.config.ssh.user,
    "ssh.port": s.config.ssh.port,
    "ssh.dialErrorLimit": s.config.ssh.dialErrorLimit,
    [formatPath(["ssh", "hostKeys", w.name])]: s.config.ssh.hostKeys[w.name] ?? "none",
    "tailscale.enabled": s.config.tailscale.enabled,
  });
  const [x, y] = [of(b, base), of(h, head)];
  const out = Object.keys(x).filter((k) => x[k] !== y[k]).map((k) =>
    (k.startsWith("ssh.hostKeys") ? `${k} (pinned key changed)` : `${k} ${String(x[k])} → ${String(y[k])}`));
  const key = (s: StackSnapshot) =>
    (s.config.ssh.privateKey === OPAQUE_SECRET ? s.secure["ssh.privateKey"] : s.config.ssh.privateKey);
  if (key(base) !== key(head)) out.push("ssh.privateKey (new key)");
  return out;
}

function canaryGateChanges(name: string, ctx: Context): string[] {
  if (ctx.baseCanary !== name) return [`becomes the canary (was ${ctx.baseCanary ?? "none"})`];
  const b = rolloutStepInputs(ctx.base.config, name, "canary-gate");
  const h = rolloutStepInputs(ctx.head.config, name, "canary-gate");
  const keys = [...new Set([...Object.keys(b), ...Object.keys(h)])].sort();
  return keys.filter((k) => b[k] !== h[k]).map((k) => `${k} ${String(b[k] ?? "unset")} → ${String(h[k] ?? "unset")}`);
}

function removedWorker(worker: WorkerConfig, config: FleetConfig): RemovedWorker {
  if (worker.gone) {
    return { name: worker.name, reason: REMOVED_GONE, runs: "nothing on the host; its resources leave the state" };
  }
  const tailnet = config.tailscale.enabled ? ", logs out of the tailnet" : "";
  const runs = `decommission: drains, stops and disables both units${tailnet}; ${hostSourceText(worker.source).onRemove}`;
  return { name: worker.name, reason: REMOVED, runs };
}

function notes(head: StackSnapshot): string[] {
  return [
    "reasons compare the two stack files, not the stack's state: after a halted or interrupted `pulumi up`, " +
      "hosts that never got the new config do not re-run; `pulumi preview --diff` shows exactly what will run",
    ...head.environments.map((env) => `secrets from ESC environment ${env} are not visible offline: a change ` +
      "made in ESC re-runs every active worker (env change) on the next `pulumi up` and is not shown here"),
    "a change to host-scripts/*.sh re-runs every step of every active worker; a change of only artifact " +
      "URLs or rollout.keepReleases re-runs the deploy step alone, which finds the release installed and downloads " +
      "nothing",
  ];
}

function valueAt(config: FleetConfig, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
}

function showValue(path: string, value: unknown): string {
  if (typeof value === "number" && /(Deadline|Time)$/.test(path)) return formatDuration(value);
  return typeof value === "string" ? JSON.stringify(short(value)) : String(value);
}

const short = (text: string) => (text.length > 40 ? `${text.slice(0, 37)}...` : text);
