// What lab scenarios and the lab benchmark share: a stack file of their own, `pulumi up` on the real engine run
// as `npm run lab -- apply` runs it (lab/up.ts), and looks at the hosts over SSH.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Executed } from "./up-progress";
import { LAB_DIR, LabHosts, REPO_ROOT, labSsh, run } from "./hosts";
import { editConfig, readConfig, setRelease } from "./stack-file";

export interface ApplyResult {
  code: number;
  output: string;
  executed: Executed[];
  error?: string;
  /** Preview only: steps other than `same`. */
  changes?: number;
}

/** A copy of Pulumi.lab.yaml the scenarios edit, so the committed one stays as operators know it. */
export class LabStack {
  readonly file: string;

  constructor() {
    this.file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "zf-lab-")), "Pulumi.lab.yaml");
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.lab.yaml"), this.file);
  }

  release(version: string): this {
    setRelease(this.file, version, LAB_DIR);
    return this;
  }

  /** Merges `patch` into config key `key` (objects merge one level deep; other values replace). */
  set(key: string, patch: unknown): this {
    const old = readConfig(this.file, key);
    const merged = isObject(old) && isObject(patch) ? { ...old, ...patch } : patch;
    editConfig(this.file, key, merged);
    return this;
  }

  /** Replaces config key `key` whole. */
  put(key: string, value: unknown): this {
    editConfig(this.file, key, value);
    return this;
  }

  workers(names: string[]): this {
    return this.set("workers", names.map((name) => ({ name, host: { address: name } })));
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export interface ApplyOptions {
  /** Kills the `pulumi` CLI and its plugins (SIGKILL to its process group) as soon as a line of output matches. */
  killWhen?: RegExp;
  /** Runs `run` once, as soon as a line of output matches `pattern` (e.g. queue runs when a given step starts). */
  when?: { pattern: RegExp; run: () => unknown };
  /** Extra flags of lab/up.ts: `--preview`, `--expect-no-changes`, `--stop-on-error`, `--cancel`. */
  flags?: string[];
}

/** Runs `pulumi up` (lab/up.ts) on a stack file; resolves with its exit code, output and the commands it executed. */
export function apply(stack: LabStack, options: ApplyOptions = {}): Promise<ApplyResult> {
  const summary = path.join(LAB_DIR, "last-apply.json");
  const pidFile = path.join(LAB_DIR, "pulumi.pid");
  fs.rmSync(summary, { force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "lab/up.ts"), "--stack-file", stack.file, ...(options.flags ?? [])], {
      cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let killed = false;
    let triggered = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!triggered && options.when?.pattern.test(output)) {
        triggered = true;
        void options.when.run();
      }
      if (!killed && options.killWhen?.test(output) && fs.existsSync(pidFile)) {
        // The recorded PID of the CLI leads its own process group (lab/pulumi-cli.ts): the CLI and the provider
        // plugins it started die together, as in a killed CI job; the driver then sees the CLI gone and exits.
        killed = true;
        process.kill(-Number(fs.readFileSync(pidFile, "utf8")), "SIGKILL");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => {
      const last = fs.existsSync(summary) ? JSON.parse(fs.readFileSync(summary, "utf8")) as { executed: Executed[]; error?: string; changes?: number } : undefined;
      resolve({ code: killed ? 137 : code ?? 1, output, executed: last?.executed ?? [], error: last?.error, changes: last?.changes });
    });
  });
}

/** Runs a shell command on a lab host; throws with its output when it fails. */
export async function onHost(lab: LabHosts, host: string, command: string): Promise<string> {
  const target = lab.hosts.find((h) => h.name === host);
  if (!target) throw new Error(`no lab host ${host}`);
  const result = await labSsh(lab, target, command, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`${host}: ${command} exited ${result.code}: ${result.stderr || result.stdout}`);
  return result.stdout.trim();
}

/** The release a host runs, read from the host itself. */
export const versionOn = (lab: LabHosts, host: string) => onHost(lab, host, "cat /opt/zombie/current/VERSION");

/** `active`/`inactive`… and `enabled`/`disabled` of both units on a host. */
export async function unitStates(lab: LabHosts, host: string): Promise<Record<string, string>> {
  const out = await onHost(lab, host, "for u in zombied-executor zombied-worker; do echo \"$u $(systemctl is-active $u) $(systemctl is-enabled $u)\"; done || true");
  return Object.fromEntries(out.split("\n").flatMap((line) => {
    const [unit, active, enabled] = line.split(" ");
    return [[`${unit}.active`, active], [`${unit}.enabled`, enabled]];
  }));
}

/** Commands of a run by host, e.g. { "lab-worker-1": ["drain", …] }. */
export function commandsByHost(executed: Executed[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of executed) {
    const m = /^(lab-worker-\d+)-(.+)$/.exec(e.name);
    if (m) (out[m[1]] ??= []).push(m[2]);
  }
  return out;
}

/** When a host was out of service in a run: from its drain's start to its verify's end. */
export function outOfService(executed: Executed[], host: string): { from: number; to: number } | undefined {
  const drain = executed.find((e) => e.name === `${host}-drain`);
  const verify = executed.find((e) => e.name === `${host}-verify`);
  return drain && verify ? { from: drain.startedAt, to: verify.endedAt } : undefined;
}

/** One host as `npm run fleet -- status --format json` reports it (cli/fleet-format.ts). */
export interface StatusHost {
  name: string;
  answered: boolean;
  error: string | null;
  recordedRelease: string | null;
  ms: number | null;
  report?: { current: string | null; previous: string | null; draining: boolean; lastStep: { step: string; status: string; line: string | null } | null };
}

/** `npm run fleet -- status --stack lab --format json`, as an operator runs it; with its exit code and wall time. */
export async function fleetStatus(timeoutS = 5): Promise<{ code: number; hosts: StatusHost[]; ms: number; output: string }> {
  const started = Date.now();
  const r = await run(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "cli/fleet.ts"), "status", "--stack", "lab", "--format", "json", "--timeout", String(timeoutS)]);
  const json = r.stdout.slice(r.stdout.indexOf("{"));
  let hosts: StatusHost[] = [];
  try {
    hosts = (JSON.parse(json) as { hosts: StatusHost[] }).hosts;
  } catch {
    // Left empty: the caller's assertion on `hosts` shows `output`.
  }
  return { code: r.code, hosts, ms: Date.now() - started, output: `${r.stdout}${r.stderr}` };
}
