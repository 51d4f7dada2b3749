// The fake systemd and journald of a script test, from the test's side: the stand-ins (test/scripts/standins/,
// first on PATH) keep their state under `<root>/fake` (fake-lib.sh documents the layout) and this reads and sets it.
// It also owns the fake host's clock, the one the steps (lib.sh zf_now_ms) and the stand-ins (fake-lib.sh
// fake_now) read: the real clock plus the milliseconds in ZF_CLOCK_SKEW_FILE, which only a test moves.
import * as fs from "node:fs";
import * as path from "node:path";

export const STANDINS_DIR = path.resolve(__dirname, "../standins");

export const WORKER = "zombied-worker";
export const EXECUTOR = "zombied-executor";

export interface UnitOptions {
  restart?: "no" | "on-failure" | "always";
  restartSec?: string;
  timeoutStopSec?: string;
  /** ExecStart= (default: the release's binary in the bin dir). */
  execStart?: string;
}

/** Knobs of a simulated process (see standins/zombied-sim), e.g. { on_drain: "stuck", drain_seconds: 1 }. */
export type Knobs = Record<string, string | number>;

export interface UnitState {
  ActiveState: string;
  SubState: string;
  NRestarts: number;
  MainPID: number;
  UnitFileState: string;
  ActiveEnterTimestampMonotonic: number;
}

export interface JournalEntry {
  /** µs since the epoch on the fake host's clock; the entry's cursor is `s=zf-fake;t=<us>`. */
  us: number;
  message: string;
}

export interface FakeSystemdDirs {
  /** The stand-ins' state (ZF_FAKE). */
  fake: string;
  /** Where the stand-ins are linked (first on PATH). */
  binPath: string;
  /** Unit files (ZF_UNIT_DIR). */
  unitDir: string;
  /** Where a unit's default ExecStart= finds zombied and zombied-executor (ZF_BIN_DIR). */
  binDir: string;
}

let usCounter = 0;

export class FakeSystemd {
  readonly fake: string;
  readonly binPath: string;
  readonly unitDir: string;
  readonly clockSkewFile: string;
  private clockSkewMs = 0;

  constructor(private readonly dirs: FakeSystemdDirs) {
    this.fake = dirs.fake;
    this.binPath = dirs.binPath;
    this.unitDir = dirs.unitDir;
    for (const d of ["units", "knobs", "journal", "fail"]) fs.mkdirSync(path.join(this.fake, d), { recursive: true });
    for (const d of [this.binPath, this.unitDir]) fs.mkdirSync(d, { recursive: true });
    this.clockSkewFile = path.join(this.fake, "clock-skew");
  }

  /** What the stand-ins need in their environment. */
  env(): Record<string, string> {
    return { ZF_FAKE: this.fake, ZF_UNIT_DIR: this.unitDir, ZF_CLOCK_SKEW_FILE: this.clockSkewFile, ZF_STANDINS: STANDINS_DIR };
  }

  // ---- the clock ----

  /** Moves the fake host's clock forward: the steps' deadlines and the stand-ins' journal times both jump. */
  advanceClock(ms: number): void {
    this.clockSkewMs += Math.ceil(ms);
    const tmp = `${this.clockSkewFile}.tmp`;
    fs.writeFileSync(tmp, `${this.clockSkewMs}\n`);
    fs.renameSync(tmp, this.clockSkewFile); // a reader sees the old or the new value, never half of one
  }

  /** Now on the fake host's clock, in µs; distinct per call within a millisecond (entries keep their order). */
  nowUs(): number {
    return (Date.now() + this.clockSkewMs) * 1000 + (usCounter++ % 1000);
  }

  // ---- units ----

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
    const execStart = o.execStart ?? (isExecutor ? `${this.dirs.binDir}/zombied-executor` : `${this.dirs.binDir}/zombied worker`);
    const text = [
      "[Unit]", `Description=${unit} (test stand-in)`,
      ...(isExecutor ? [] : [`Requires=${EXECUTOR}.service`, `After=${EXECUTOR}.service`]),
      "", "[Service]", "Type=simple", `ExecStart=${execStart}`, `Restart=${o.restart ?? "on-failure"}`,
      `RestartSec=${o.restartSec ?? "0.2"}`, `TimeoutStopSec=${o.timeoutStopSec ?? "3"}`,
      "", "[Install]", "WantedBy=multi-user.target", "",
    ].join("\n");
    fs.writeFileSync(path.join(this.unitDir, `${unit}.service`), text);
  }

  /** Makes `systemctl <verb>` fail with this message. */
  failVerb(verb: string, message = `Failed to ${verb}: Access denied`): void {
    fs.writeFileSync(path.join(this.fake, "fail", verb), `${message}\n`);
  }

  // ---- the journal ----

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
    const entry = { us: this.nowUs(), message };
    fs.appendFileSync(path.join(this.fake, "journal", `${unit}.log`), `${entry.us} ${message}\n`);
    return entry;
  }

  // ---- what the stand-ins recorded ----

  /** Every stand-in call so far ("systemctl kill -s SIGUSR1 --kill-whom=main zombied-worker"), optionally filtered. */
  calls(prefix = ""): string[] {
    try {
      return fs.readFileSync(path.join(this.fake, "calls.log"), "utf8").split("\n").filter((l) => l && l.startsWith(prefix));
    } catch {
      return [];
    }
  }

  /** PIDs of the background processes the stand-ins started (fake units, journal followers). */
  backgroundPids(): number[] {
    try {
      return fs.readFileSync(path.join(this.fake, "pids"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return []; // no background process was started
    }
  }

  /** Links a stand-in (systemctl, journalctl, tailscale, …) into the PATH bin dir. */
  addStandin(name: string): void {
    fs.symlinkSync(path.join(STANDINS_DIR, name), path.join(this.binPath, name));
  }
}
