// Runs bash for the script tests (a step script, a setup command) in one environment and working directory, keeps
// what each run printed, and kills every process a test left behind, stand-ins' background units included.
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";

/** One `step=… host=… status=… key=value…` line, as an object (quoted values unquoted). */
export type StatusLine = { step: string; host: string; status: string } & Record<string, string>;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  statusLines: StatusLine[];
  /** The last status line, the step's outcome. */
  status: StatusLine | undefined;
  startedAt: number;
  endedAt: number;
  durationMs: number;
}

export interface RunOptions {
  /** Extra environment (ZF_* inputs); `undefined` removes a default. */
  env?: Record<string, string | number | undefined>;
  stdin?: string;
  /** Kills the script's process group after this long (default HUNG_MS). */
  timeoutMs?: number;
  /** Kept up to date with the script's output while it runs (a test waits on what the script has seen). */
  live?: { stdout: string; stderr: string };
}

/** A budget for a step expected to SUCCEED: it ends as soon as it does, so this bound only stops a hung step and
 *  costs nothing on a quiet machine. Long on purpose: a busy machine may take seconds per fork. */
export const ENOUGH_S = 60;
/** How long a test waits for the fake units and a script to get somewhere before it calls them hung. */
export const HUNG_MS = 90_000;

export function parseStatusLines(text: string): StatusLine[] {
  const lines: StatusLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("step=")) continue;
    const fields: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) fields[m[1]] = m[3] ?? m[2];
    lines.push(fields as StatusLine);
  }
  return lines;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 25 ms; throws naming `what` once `timeoutMs` passed without it. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export class ProcessRunner {
  private readonly pids: number[] = [];

  /** `env` is what every run sees (a run's own `env` option adds to it); `marker` is an `ENV=value` pair of it
   *  that tells this runner's processes from every other test's (killAll checks it before it signals). */
  constructor(readonly env: Record<string, string>, readonly cwd: string, private readonly marker: string) {}

  /** `bash ARGS…` in its own process group, killed after `timeoutMs`; resolves when it exits. */
  bash(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const env: Record<string, string> = { ...this.env };
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = String(v);
    }
    const startedAt = Date.now();
    const child = spawn("bash", args, { env, cwd: this.cwd, detached: true, stdio: "pipe" });
    if (child.pid) this.pids.push(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      if (opts.live) opts.live.stdout = stdout;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      if (opts.live) opts.live.stderr = stderr;
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.stdin ?? "");
    return new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, endedAt: number) => {
        if (done) return;
        done = true;
        clearTimeout(killer);
        const statusLines = parseStatusLines(stdout);
        resolve({
          code, signal, stdout, stderr, statusLines, status: statusLines.at(-1),
          startedAt, endedAt, durationMs: endedAt - startedAt,
        });
      };
      const killer = setTimeout(() => {
        stderr += `\n[harness] killed after ${opts.timeoutMs ?? HUNG_MS} ms\n`;
        if (child.pid) safeKill(-child.pid, "SIGKILL");
      }, opts.timeoutMs ?? HUNG_MS);
      // 'close' waits for stdio; a leaked background process holding a pipe must not hang the test.
      child.on("exit", (code, signal) => {
        const endedAt = Date.now();
        setTimeout(() => finish(code, signal, endedAt), 1500).unref();
        child.on("close", () => finish(code, signal, endedAt));
      });
    });
  }

  /** `bash -c COMMAND`, synchronously (setup: `sh("systemctl start x")`); never throws on a failed command. */
  sh(command: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
    try {
      const stdout = execFileSync("bash", ["-c", command], {
        env: { ...this.env, ...env }, cwd: this.cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
        timeout: HUNG_MS,
      });
      return { code: 0, stdout, stderr: "" };
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      return { code: err.status ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
    }
  }

  /** Kills every process of this runner: the scripts it ran, the `others` (background processes the stand-ins
   *  recorded), and every member of their process groups and sessions (a fake unit runs under setsid: its program,
   *  journal pipe and sleeps), each only after checking it carries the marker in its environment. It repeats until
   *  none is left, because a process that outlives the first signal (a journal pipe flushing its last line) would
   *  write into a directory the caller is about to remove (ENOTEMPTY). */
  async killAll(others: number[] = []): Promise<void> {
    const marker = `${this.marker}\0`;
    const ours = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker);
      } catch {
        return false; // gone, or a zombie (its environment reads empty)
      }
    };
    const leaders = new Set<number>([...this.pids, ...others]);
    const live = () => [...leaders, ...membersOf(leaders)].filter(ours);
    let left = live();
    for (let round = 0; round < 100 && left.length > 0; round++) {
      for (const pid of left) safeKill(pid, round === 0 ? "SIGTERM" : "SIGKILL");
      // SIGTERM first, so a unit's program runs its trap (the executor removes its socket); most are gone within
      // a few ms, so poll for that instead of waiting out the whole grace period every time.
      const grace = Date.now() + (round === 0 ? 150 : 50);
      do {
        await sleep(10);
        left = live();
      } while (left.length > 0 && Date.now() < grace);
    }
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** PIDs whose process group or session (fields 5 and 6 of /proc/<pid>/stat) is one of `leaders`. */
function membersOf(leaders: Set<number>): number[] {
  const members: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (leaders.has(Number(fields[2])) || leaders.has(Number(fields[3]))) members.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return members;
}
