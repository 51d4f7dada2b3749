// Test harness for the remote step scripts (components/scripts/*.sh): runs them for real with bash, with
// stand-ins for systemctl / journalctl / zombied / tailscale first on PATH, in a temp root per test.
// The stand-ins (test/scripts/standins/) keep their state under `<root>/fake`; fake-lib.sh documents the layout.
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { ScriptName, installBundleCommand, scriptBundle, scriptCommand } from "../../host/script-command";

export const REPO = path.resolve(__dirname, "../..");
export const SCRIPTS_DIR = path.join(REPO, "host-scripts");
export const STANDINS_DIR = path.join(REPO, "test/scripts/standins");

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

/** What a test waits for before it moves the scripts' clock past a deadline (see Harness.runPastDeadline). */
export interface DeadlineOptions extends RunOptions {
  /** The deadline input's value in seconds, as the step was given it. */
  deadlineS: number;
  /** Text of the script's trace (ZF_TRACE=1, on stderr) that shows it has seen what the test asserts on. */
  seen: string;
}

/** A budget for a step expected to SUCCEED: it ends as soon as it does, so this bound only stops a hung step and
 *  costs nothing on a quiet machine. Long on purpose: a busy machine may take seconds per fork. */
export const ENOUGH_S = 60;
/** How long a test waits for the fake units and a script to get somewhere before it calls them hung. */
export const HUNG_MS = 90_000;

export interface UnitOptions {
  restart?: "no" | "on-failure" | "always";
  restartSec?: string;
  timeoutStopSec?: string;
  /** ExecStart= (default: the release's binary through $ZF_BIN_DIR). */
  execStart?: string;
}

export interface HarnessOptions {
  /** Stand-ins linked into the PATH bin dir (default systemctl, journalctl). */
  standins?: string[];
  /** Default release to install and point `current` at (default "1.0.0"; false: no layout). */
  release?: string | false;
  worker?: UnitOptions | false;
  executor?: UnitOptions | false;
  host?: string;
}

/** Knobs of a simulated process (see standins/zombied-sim), e.g. { on_drain: "stuck", drain_seconds: 1 }. */
export type Knobs = Record<string, string | number>;

export interface ReleaseKnobs {
  worker?: Knobs;
  executor?: Knobs;
  doctor?: Knobs;
}

export interface UnitState {
  ActiveState: string;
  SubState: string;
  NRestarts: number;
  MainPID: number;
  UnitFileState: string;
  ActiveEnterTimestampMonotonic: number;
}

export interface JournalEntry {
  /** µs since the epoch; the entry's cursor is `s=zf-fake;t=<us>`. */
  us: number;
  message: string;
}

export const WORKER = "zombied-worker";
export const EXECUTOR = "zombied-executor";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let usCounter = 0;
const nowUs = () => Date.now() * 1000 + (usCounter++ % 1000);

export class Harness {
  readonly root: string;
  readonly fake: string;
  readonly binPath: string;
  readonly zfRoot: string;
  readonly unitDir: string;
  readonly binDir: string;
  readonly socket: string;
  /** The base environment every script and stand-in sees. */
  readonly env: Record<string, string>;
  private readonly scriptPids: number[] = [];
  private readonly clockSkewFile: string;
  private clockSkewMs = 0;

  constructor(opts: HarnessOptions = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "zf-scripts-"));
    this.fake = path.join(this.root, "fake");
    this.binPath = path.join(this.root, "bin");
    this.zfRoot = path.join(this.root, "opt/zombie");
    this.unitDir = path.join(this.root, "etc/systemd/system");
    this.binDir = path.join(this.root, "usr/local/bin");
    this.socket = path.join(this.root, "run/zombie/executor.sock");
    for (const d of ["fake/units", "fake/knobs", "fake/journal", "fake/fail", "bin", "etc/default"]) {
      fs.mkdirSync(path.join(this.root, d), { recursive: true });
    }
    for (const d of [this.zfRoot, this.unitDir, this.binDir]) fs.mkdirSync(d, { recursive: true });
    this.clockSkewFile = path.join(this.fake, "clock-skew");
    this.env = {
      // Stand-ins first, then the release's binaries (as /usr/local/bin on a host), then the system.
      PATH: `${this.binPath}:${this.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: this.root,
      TMPDIR: os.tmpdir(),
      LANG: "C.UTF-8",
      ZF_FAKE: this.fake,
      ZF_HOST: opts.host ?? "zf-test-1",
      ZF_ROOT: this.zfRoot,
      ZF_UNIT_DIR: this.unitDir,
      ZF_BIN_DIR: this.binDir,
      ZF_ENV_FILE: path.join(this.root, "etc/default/zombied-worker"),
      ZF_EXECUTOR_SOCKET: this.socket,
      ZF_CLOCK_SKEW_FILE: this.clockSkewFile,
    };
    for (const s of opts.standins ?? ["systemctl", "journalctl"]) this.addStandin(s);
    if (opts.executor !== false) this.writeUnit(EXECUTOR, { restart: "always", ...opts.executor });
    if (opts.worker !== false) this.writeUnit(WORKER, { restart: "on-failure", ...opts.worker });
    if (opts.release !== false) {
      const v = opts.release ?? "1.0.0";
      this.installRelease(v);
      this.setCurrent(v);
    }
  }

  // ---- running scripts ----

  /** Runs components/scripts/<script> as a file (`bash <path>`, which sources lib.sh beside it). */
  run(script: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.spawnBash([path.join(SCRIPTS_DIR, script)], opts);
  }

  /**
   * Runs the script the way the program does: the bundle installed by the real install-bundle command (once per
   * harness), then `bash <root>/deploy/scripts/run.sh <step>` (script-command.ts scriptCommand).
   */
  async runRemote(script: string, opts: RunOptions = {}): Promise<RunResult> {
    const scripts = path.join(this.zfRoot, "deploy", "scripts");
    if (!this.bundleInstalled) {
      const bundle = scriptBundle();
      const install = await this.spawnBash(["-c", installBundleCommand("harness", bundle.hash, { sudo: false, root: this.zfRoot })], { stdin: bundle.text });
      if (install.code !== 0) throw new Error(`install-bundle failed: ${install.stdout}${install.stderr}`);
      this.bundleInstalled = true;
    }
    const command = scriptCommand(script.replace(/\.sh$/, "") as ScriptName, {}, { sudo: false, scriptsDir: scripts });
    return this.spawnBash(["-c", command], opts);
  }
  private bundleInstalled = false;

  /** Runs a script whose deadline (deadlineS, given in its inputs) the test makes pass: once the script's trace
   *  shows `seen`, the scripts' clock jumps past the deadline. So the outcome never depends on whether a busy
   *  machine got the worker to that point before a wall-clock deadline. */
  async runPastDeadline(script: string, opts: DeadlineOptions): Promise<RunResult> {
    const live = { stdout: "", stderr: "" };
    const running = this.run(script, { ...opts, live, env: { ...opts.env, ZF_TRACE: 1 } });
    let ended = false;
    void running.then(() => (ended = true));
    await this.waitFor(() => ended || live.stderr.includes(opts.seen), HUNG_MS, `the script's trace to show ${opts.seen}`);
    this.advanceClock(opts.deadlineS * 1000);
    return running;
  }

  /** Moves the scripts' clock (lib.sh zf_now_ms) forward; the stand-ins and the real clock are unaffected. */
  advanceClock(ms: number): void {
    this.clockSkewMs += Math.ceil(ms);
    const tmp = `${this.clockSkewFile}.tmp`;
    fs.writeFileSync(tmp, `${this.clockSkewMs}\n`);
    fs.renameSync(tmp, this.clockSkewFile); // a script reads the old or the new value, never half of one
  }

  private spawnBash(args: string[], opts: RunOptions): Promise<RunResult> {
    const env: Record<string, string> = { ...this.env };
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = String(v);
    }
    const startedAt = Date.now();
    const child = spawn("bash", args, { env, cwd: this.root, detached: true, stdio: "pipe" });
    if (child.pid) this.scriptPids.push(child.pid);
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
        this.killGroup(child.pid);
      }, opts.timeoutMs ?? HUNG_MS);
      // 'close' waits for stdio; a leaked background process holding a pipe must not hang the test.
      child.on("exit", (code, signal) => {
        const endedAt = Date.now();
        setTimeout(() => finish(code, signal, endedAt), 1500).unref();
        child.on("close", () => finish(code, signal, endedAt));
      });
    });
  }

  /** Runs a shell command synchronously in the harness environment (setup: `h.sh("systemctl start x")`). */
  sh(command: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
    try {
      const stdout = execFileSync("bash", ["-c", command], {
        env: { ...this.env, ...env }, cwd: this.root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
        timeout: HUNG_MS,
      });
      return { code: 0, stdout, stderr: "" };
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      return { code: err.status ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
    }
  }

  /** The fake systemctl, synchronously; throws when it fails. */
  systemctl(...args: string[]): string {
    const r = this.sh(["systemctl", ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" "));
    if (r.code !== 0) throw new Error(`systemctl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** Starts the executor and the worker and waits until both are active (and the socket exists). */
  async startUnits(): Promise<void> {
    this.systemctl("start", EXECUTOR);
    await this.waitFor(() => fs.existsSync(this.socket), HUNG_MS, "executor socket");
    this.systemctl("start", WORKER);
    await this.waitFor(() => this.journalLines(WORKER).some((l) => l.startsWith("worker.threads_started") || l.includes("failed")), HUNG_MS, "worker startup");
  }

  // ---- fake state ----

  unitState(unit: string): UnitState {
    const get = (p: string, d: string) => {
      try {
        return fs.readFileSync(path.join(this.fake, "units", unit, p), "utf8") || d;
      } catch {
        return d;
      }
    };
    return {
      ActiveState: get("ActiveState", "inactive"),
      SubState: get("SubState", "dead"),
      NRestarts: Number(get("NRestarts", "0")),
      MainPID: Number(get("MainPID", "0")),
      UnitFileState: get("UnitFileState", fs.existsSync(path.join(this.unitDir, `${unit}.service`)) ? "disabled" : ""),
      ActiveEnterTimestampMonotonic: Number(get("ActiveEnterTimestampMonotonic", "0")),
    };
  }

  /** Sets a unit's state files directly (e.g. `UnitFileState: "enabled"`). */
  setUnitState(unit: string, props: Record<string, string | number>): void {
    const dir = path.join(this.fake, "units", unit);
    fs.mkdirSync(dir, { recursive: true });
    for (const [k, v] of Object.entries(props)) fs.writeFileSync(path.join(dir, k), String(v));
  }

  /** Knobs of a unit's simulated process (or `doctor`), applied at its next start; merged with earlier ones. */
  setKnobs(name: string, knobs: Knobs): void {
    const text = Object.entries(knobs).map(([k, v]) => `${k}=${v}\n`).join("");
    fs.appendFileSync(path.join(this.fake, "knobs", name), text);
  }

  writeUnit(unit: string, o: UnitOptions = {}): void {
    const isExecutor = unit.includes("executor");
    const execStart = o.execStart ?? (isExecutor ? `${this.binDir}/zombied-executor` : `${this.binDir}/zombied worker`);
    const text = [
      "[Unit]", `Description=${unit} (test stand-in)`,
      ...(isExecutor ? [] : [`Requires=${EXECUTOR}.service`, `After=${EXECUTOR}.service`]),
      "", "[Service]", "Type=simple", `ExecStart=${execStart}`, `Restart=${o.restart ?? "on-failure"}`,
      `RestartSec=${o.restartSec ?? "0.2"}`, `TimeoutStopSec=${o.timeoutStopSec ?? "3"}`,
      "", "[Install]", "WantedBy=multi-user.target", "",
    ].join("\n");
    fs.writeFileSync(path.join(this.unitDir, `${unit}.service`), text);
  }

  journal(unit: string): JournalEntry[] {
    let text = "";
    try {
      text = fs.readFileSync(path.join(this.fake, "journal", `${unit}.log`), "utf8");
    } catch {
      return [];
    }
    return text.split("\n").filter(Boolean).map((l) => {
      const i = l.indexOf(" ");
      return { us: Number(l.slice(0, i)), message: l.slice(i + 1) };
    });
  }

  journalLines(unit: string): string[] {
    return this.journal(unit).map((e) => e.message);
  }

  /** Appends an entry to a unit's journal, as if the unit had logged it now. */
  log(unit: string, message: string): JournalEntry {
    const entry = { us: nowUs(), message };
    fs.appendFileSync(path.join(this.fake, "journal", `${unit}.log`), `${entry.us} ${message}\n`);
    return entry;
  }

  /** Every stand-in call so far ("systemctl kill -s SIGUSR1 --kill-whom=main zombied-worker"), optionally filtered. */
  calls(prefix = ""): string[] {
    try {
      return fs.readFileSync(path.join(this.fake, "calls.log"), "utf8").split("\n").filter((l) => l && l.startsWith(prefix));
    } catch {
      return [];
    }
  }

  /** Makes `systemctl <verb>` fail with this message. */
  failVerb(verb: string, message = `Failed to ${verb}: Access denied`): void {
    fs.writeFileSync(path.join(this.fake, "fail", verb), `${message}\n`);
  }

  // ---- commands on PATH ----

  addStandin(name: string): void {
    fs.symlinkSync(path.join(STANDINS_DIR, name), path.join(this.binPath, name));
  }

  /** Puts a custom command first on PATH (a bash body; "$@" are its arguments). */
  addCommand(name: string, body: string): void {
    const file = path.join(this.binPath, name);
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, { mode: 0o755 });
  }

  // ---- release layout ($ZF_ROOT/releases/<v>, current, previous, bin links) ----

  /** releases/<v>/{zombied, zombied-executor, VERSION}; the binaries are wrappers over zombied-sim with knobs. */
  installRelease(version: string, knobs: ReleaseKnobs = {}): string {
    const dir = path.join(this.zfRoot, "releases", version);
    fs.mkdirSync(dir, { recursive: true });
    const wrapper = (k: Knobs, mode: string) =>
      "#!/usr/bin/env bash\n" +
      Object.entries(k).map(([key, v]) => `export ZF_SIM_${key.toUpperCase()}='${String(v).replace(/'/g, "'\\''")}'\n`).join("") +
      `exec '${STANDINS_DIR}/zombied-sim' ${mode}\n`;
    fs.writeFileSync(path.join(dir, "zombied"), wrapper({ ...knobs.worker, ...knobs.doctor }, '"$@"'), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "zombied-executor"), wrapper({ ...knobs.executor }, "executor"), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "VERSION"), `${version}\n`);
    return dir;
  }

  /** Points `current` at releases/<v> and the bin links at current (what deploy.sh leaves behind). */
  setCurrent(version: string): void {
    this.link(path.join(this.zfRoot, "current"), `releases/${version}`);
    for (const bin of ["zombied", "zombied-executor"]) this.link(path.join(this.binDir, bin), path.join(this.zfRoot, "current", bin));
  }

  setPrevious(version: string): void {
    this.link(path.join(this.zfRoot, "previous"), `releases/${version}`);
  }

  /** The release a link (`current` | `previous`) points at, by directory name; undefined when absent. */
  release(link: "current" | "previous" = "current"): string | undefined {
    try {
      return path.basename(fs.readlinkSync(path.join(this.zfRoot, link)));
    } catch {
      return undefined;
    }
  }

  private link(at: string, target: string): void {
    fs.rmSync(at, { force: true });
    fs.symlinkSync(target, at);
  }

  // ---- waiting and cleanup ----

  async waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(25);
    }
  }

  /** Kills every process of this test: those the stand-ins recorded, and every member of their sessions (fake-unit
   *  runs under setsid: its program, journal pipe and sleeps) and of the scripts' process groups, each only after
   *  checking it carries this test's ZF_FAKE in its environment; then removes the temp root. It repeats until none
   *  is left, because a process that outlives the first signal (a journal pipe flushing its last line) writes into
   *  the root and made the removal fail with ENOTEMPTY. */
  async cleanup(): Promise<void> {
    const marker = `ZF_FAKE=${this.fake}\0`;
    const ours = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker);
      } catch {
        return false; // gone, or a zombie (its environment reads empty)
      }
    };
    const leaders = new Set<number>(this.scriptPids);
    try {
      for (const l of fs.readFileSync(path.join(this.fake, "pids"), "utf8").split("\n")) if (l) leaders.add(Number(l));
    } catch {
      /* no background processes were started */
    }
    for (let round = 0; round < 100; round++) {
      const live = [...leaders, ...descendantsOf(leaders)].filter(ours);
      if (live.length === 0) break;
      for (const pid of live) safeKill(pid, round === 0 ? "SIGTERM" : "SIGKILL");
      await sleep(round === 0 ? 150 : 50);
    }
    fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }

  private killGroup(pgid: number | undefined): void {
    if (!pgid) return;
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      /* already gone */
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
function descendantsOf(leaders: Set<number>): number[] {
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

/** Registers beforeEach/afterEach for a describe block; returns a getter for the current test's harness. */
export function useHarness(opts: HarnessOptions | (() => HarnessOptions) = {}): () => Harness {
  let current: Harness | undefined;
  beforeEach(() => {
    current = new Harness(typeof opts === "function" ? opts() : opts);
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error("useHarness: no harness outside a test");
    return current;
  };
}
