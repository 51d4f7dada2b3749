// Test harness for the remote step scripts (host-scripts/*.sh): runs them for real with bash, with
// stand-ins for systemctl / journalctl / zombied / tailscale first on PATH, in a temp root per test. It puts
// together the process runner (support/process-runner.ts), the fake systemd and its clock (support/fake-systemd.ts)
// and the release layout (support/release-layout.ts), and is what the script tests use.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { ScriptName, installBundleCommand, scriptBundle, scriptCommand } from "../../host/script-command";
import { EXECUTOR, FakeSystemd, JournalEntry, Knobs, UnitOptions, UnitState, WORKER } from "./support/fake-systemd";
import { HUNG_MS, ProcessRunner, RunOptions, RunResult, waitFor } from "./support/process-runner";
import { PROGRESS_LINE } from "../../lab/up-progress";
import { ReleaseKnobs, ReleaseLayout } from "./support/release-layout";

export { EXECUTOR, STANDINS_DIR, WORKER } from "./support/fake-systemd";
export type { JournalEntry, Knobs, UnitOptions, UnitState } from "./support/fake-systemd";
export { ENOUGH_S, HUNG_MS, parseStatusLines } from "./support/process-runner";
export type { RunOptions, RunResult, StatusLine } from "./support/process-runner";
export type { ReleaseKnobs } from "./support/release-layout";

export const REPO = path.resolve(__dirname, "../..");
export const SCRIPTS_DIR = path.join(REPO, "host-scripts");

/** What a test waits for before it moves the scripts' clock past a deadline (see Harness.runPastDeadline). */
export interface DeadlineOptions extends RunOptions {
  /** The deadline input's value in seconds, as the step was given it. */
  deadlineS: number;
  /** Text of the script's trace (ZF_TRACE=1, on stderr) that shows it has seen what the test asserts on. */
  seen: string;
}

/** A run through a long wait, paced by the scripts' clock (Harness.runPaced). */
export interface PacedOptions extends RunOptions {
  /** Trace text that shows the step is in its wait. */
  seen: string;
  /** Moves of `everyMs` on the clock, each expected to bring one more progress line. */
  steps: number;
  everyMs: number;
  /** The last move, after the lines: past the deadline or to the end of the wait. */
  finalMs?: number;
  /** Run through run.sh, as the program does (runRemote). */
  remote?: boolean;
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

/** The progress lines of a waiting step's output (lib.sh zf_progress_tick), as the lab driver recognises them. */
export function progressLines(text: string): string[] {
  return text.split("\n").filter((line) => PROGRESS_LINE.test(line));
}

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
  readonly systemd: FakeSystemd;
  readonly layout: ReleaseLayout;
  private readonly runner: ProcessRunner;
  private bundleInstalled = false;

  constructor(opts: HarnessOptions = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "zf-scripts-"));
    this.fake = path.join(this.root, "fake");
    this.binPath = path.join(this.root, "bin");
    this.zfRoot = path.join(this.root, "opt/zombie");
    this.unitDir = path.join(this.root, "etc/systemd/system");
    this.binDir = path.join(this.root, "usr/local/bin");
    this.socket = path.join(this.root, "run/zombie/executor.sock");
    fs.mkdirSync(path.join(this.root, "etc/default"), { recursive: true });
    this.systemd = new FakeSystemd({ fake: this.fake, binPath: this.binPath, unitDir: this.unitDir, binDir: this.binDir });
    this.layout = new ReleaseLayout(this.zfRoot, this.binDir);
    this.env = {
      // Stand-ins first, then the release's binaries (as /usr/local/bin on a host), then the system.
      PATH: `${this.binPath}:${this.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: this.root,
      TMPDIR: os.tmpdir(),
      LANG: "C.UTF-8",
      ...this.systemd.env(),
      ZF_HOST: opts.host ?? "zf-test-1",
      ZF_ROOT: this.zfRoot,
      ZF_BIN_DIR: this.binDir,
      ZF_ENV_FILE: path.join(this.root, "etc/default/zombied-worker"),
      ZF_EXECUTOR_SOCKET: this.socket,
    };
    this.runner = new ProcessRunner(this.env, this.root, `ZF_FAKE=${this.fake}`);
    for (const s of opts.standins ?? ["systemctl", "journalctl"]) this.systemd.addStandin(s);
    if (opts.executor !== false) this.writeUnit(EXECUTOR, { restart: "always", ...opts.executor });
    if (opts.worker !== false) this.writeUnit(WORKER, { restart: "on-failure", ...opts.worker });
    if (opts.release !== false) {
      const v = opts.release ?? "1.0.0";
      this.installRelease(v);
      this.setCurrent(v);
    }
  }

  // ---- running scripts ----

  /** Runs host-scripts/<script> as a file (`bash <path>`, which sources lib.sh beside it). */
  run(script: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.runner.bash([path.join(SCRIPTS_DIR, script)], opts);
  }

  /**
   * Runs the script the way the program does: the bundle installed by the real install-bundle command (once per
   * harness), then `bash <root>/deploy/scripts/run.sh <step>` (script-command.ts scriptCommand).
   */
  async runRemote(script: string, opts: RunOptions = {}): Promise<RunResult> {
    const scripts = path.join(this.zfRoot, "deploy", "scripts");
    if (!this.bundleInstalled) {
      const bundle = scriptBundle();
      const install = await this.runner.bash(["-c", installBundleCommand("harness", bundle.hash, { sudo: false, root: this.zfRoot })], { stdin: bundle.text });
      if (install.code !== 0) throw new Error(`install-bundle failed: ${install.stdout}${install.stderr}`);
      this.bundleInstalled = true;
    }
    const command = scriptCommand(script.replace(/\.sh$/, "") as ScriptName, {}, { sudo: false, scriptsDir: scripts });
    return this.runner.bash(["-c", command], opts);
  }

  /** Runs a script whose deadline (deadlineS, given in its inputs) the test makes pass: once the script's trace
   *  shows `seen`, the fake host's clock jumps past the deadline. So the outcome never depends on whether a busy
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

  /**
   * Runs a step through a long wait on the scripts' clock: once its trace shows `seen`, the clock moves `everyMs` at
   * a time, `steps` times, and after each move the test waits for the step's next progress line (lib.sh
   * zf_progress_tick); then the clock moves `finalMs` (past the deadline, or to the end of the wait). Lines are read
   * where an operator sees them: on stderr when the script runs on its own, on stdout (live) under run.sh.
   */
  async runPaced(script: string, opts: PacedOptions): Promise<RunResult & { progress: string[][] }> {
    const live = { stdout: "", stderr: "" };
    const env = { ...opts.env, ZF_TRACE: 1 };
    const running = opts.remote ? this.runRemote(script, { ...opts, live, env }) : this.run(script, { ...opts, live, env });
    let ended = false;
    void running.then(() => (ended = true));
    const stepLog = path.join(this.zfRoot, "log", script.replace(/\.sh$/, ".log"));
    const trace = () => (opts.remote ? (fs.existsSync(stepLog) ? fs.readFileSync(stepLog, "utf8") : "") : live.stderr);
    const lines = () => progressLines(opts.remote ? live.stdout : live.stderr);
    await this.waitFor(() => ended || trace().includes(opts.seen), HUNG_MS, `the script's trace to show ${opts.seen}`);
    const progress: string[][] = [];
    for (let i = 1; i <= opts.steps && !ended; i++) {
      this.advanceClock(opts.everyMs);
      await this.waitFor(() => ended || lines().length >= i, HUNG_MS, `progress line ${i}`);
      progress.push(lines());
    }
    this.advanceClock(opts.finalMs ?? 0);
    return { ...(await running), progress };
  }

  /** Moves the fake host's clock forward (lib.sh zf_now_ms and the stand-ins read it; the real clock is unaffected). */
  advanceClock(ms: number): void {
    this.systemd.advanceClock(ms);
  }

  /** Puts a custom command first on PATH (a bash body; "$@" are its arguments). */
  addCommand(name: string, body: string): void {
    const file = path.join(this.binPath, name);
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, { mode: 0o755 });
  }

  /** Runs a shell command synchronously in the harness environment (setup: `h.sh("systemctl start x")`). */
  sh(command: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
    return this.runner.sh(command, env);
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

  waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitFor(pred, timeoutMs, what);
  }

  // ---- the fake systemd and journal (support/fake-systemd.ts) ----

  unitState(unit: string): UnitState { return this.systemd.unitState(unit); }
  setUnitState(unit: string, props: Record<string, string | number>): void { this.systemd.setUnitState(unit, props); }
  setKnobs(name: string, knobs: Knobs): void { this.systemd.setKnobs(name, knobs); }
  writeUnit(unit: string, o: UnitOptions = {}): void { this.systemd.writeUnit(unit, o); }
  failVerb(verb: string, message?: string): void { this.systemd.failVerb(verb, message); }
  journal(unit: string): JournalEntry[] { return this.systemd.journal(unit); }
  journalLines(unit: string): string[] { return this.systemd.journalLines(unit); }
  log(unit: string, message: string): JournalEntry { return this.systemd.log(unit, message); }
  calls(prefix = ""): string[] { return this.systemd.calls(prefix); }

  // ---- the release layout (support/release-layout.ts) ----

  installRelease(version: string, knobs: ReleaseKnobs = {}): string { return this.layout.installRelease(version, knobs); }
  setCurrent(version: string): void { this.layout.setCurrent(version); }
  setPrevious(version: string): void { this.layout.setPrevious(version); }
  release(link: "current" | "previous" = "current"): string | undefined { return this.layout.release(link); }

  // ---- cleanup ----

  /** Kills every process of this test (the scripts, and the fake units and followers the stand-ins started, with
   *  their process groups and sessions), then removes the temp root. */
  async cleanup(): Promise<void> {
    await this.runner.killAll(this.systemd.backgroundPids());
    fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
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
