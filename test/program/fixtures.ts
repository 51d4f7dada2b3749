// Stack configs for program tests, and a runner that evaluates the real program under mocks in a child process
// (the Pulumi runtime is process-global: one program per process).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LogEntry, Registration } from "./support/runtime";

const ROOT = path.join(__dirname, "..", "..");

/** Distinct marker values: any of them found outside a secret is a leak. */
export const SECRET_MARKERS = {
  sshKey: "MARKER-SSH-7f3a",
  database: "MARKER-DB-91c2",
  pem: "MARKER-PEM-44d0",
  master: "a".repeat(48) + "MARKER0000000000".toLowerCase(),
};

export const SHA_W = "1".repeat(64);
export const SHA_E = "2".repeat(64);

export type RawWorker = Record<string, unknown>;

export function existingWorkers(n: number, prefix = "w"): RawWorker[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i + 1}`, host: { address: `192.0.2.${i + 1}` } }));
}

export function stackConfig(workers: RawWorker[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    release: {
      version: "v2",
      worker: { url: "https://artifacts.example/v2/zombied-linux-amd64.tar.gz", sha256: SHA_W },
      executor: { url: "https://artifacts.example/v2/zombied-executor-linux-amd64.tar.gz", sha256: SHA_E },
    },
    rollout: { waves: [1, 2, "50%"], maxUnavailable: "50%" },
    ssh: {
      user: "root",
      privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET_MARKERS.sshKey}\n-----END OPENSSH PRIVATE KEY-----\n`,
      publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake fleet",
    },
    tailscale: { enabled: false },
    env: { GITHUB_APP_ID: "1029384", WORKER_CONCURRENCY: "2" },
    secrets: {
      DATABASE_URL_WORKER: `postgres://zombie:${SECRET_MARKERS.database}@db:5432/zombie`,
      GITHUB_APP_PRIVATE_KEY: `-----BEGIN RSA PRIVATE KEY-----\n${SECRET_MARKERS.pem}\n-----END RSA PRIVATE KEY-----`,
      ENCRYPTION_MASTER_KEY: SECRET_MARKERS.master,
    },
    workers,
    ...overrides,
  };
}

export interface Resolved { value: unknown; secret: boolean }
export interface ProgramDump {
  registrations: Registration[];
  logs: LogEntry[];
  exports: Record<string, unknown>;
  error?: string;
}

/** Evaluates index.ts with this config; `fail` names resources whose mock throws (a failed command); `stdout`
 * gives commands (by resource name) the stdout their host printed. */
export function runProgramWith(
  config: Record<string, unknown>, fail: string[] = [], root = ROOT, timeoutMs = 120_000, stdout: Record<string, string> = {},
): ProgramDump {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-program-"));
  try {
    const file = path.join(dir, "config.json");
    fs.writeFileSync(file, JSON.stringify(config));
    const stdoutFile = path.join(dir, "stdout.json");
    fs.writeFileSync(stdoutFile, JSON.stringify(stdout));
    const args = ["--import", "tsx", path.join(root, "test/program/support/dump-program.ts"), file, ...(fail.length ? ["--fail", fail.join(",")] : []), "--stdout", stdoutFile];
    // The runtime flags promises left pending by a failed resource and exits 1 after we printed: read stdout.
    const run = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs });
    if (!run.stdout.startsWith("{")) throw new Error(`program run printed no result (exit ${run.status}): ${run.stderr.slice(0, 2000)}`);
    return JSON.parse(run.stdout) as ProgramDump;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A copy of the program (its folders, index.ts, package.json, tsconfig.json; node_modules linked, not copied) in
 * which `edit` changed some step scripts (file name → new text): what the next `pulumi up` sees after a script
 * change. The lab runs `pulumi up` from such a copy too (lab/up.ts --program-dir). Remove it with `dispose`.
 */
export function programCopy(edit: Record<string, (text: string) => string>): { dir: string; dispose: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-repo-"));
  for (const entry of ["config", "host", "host-scripts", "plan", "components", "test/program/support", "index.ts", "package.json", "tsconfig.json"]) {
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  for (const [file, change] of Object.entries(edit)) {
    const target = path.join(dir, "host-scripts", file);
    fs.writeFileSync(target, change(fs.readFileSync(target, "utf8")));
  }
  return { dir, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the program from a programCopy with `edit` applied. */
export function runProgramWithScripts(config: Record<string, unknown>, edit: Record<string, (text: string) => string>): ProgramDump {
  const copy = programCopy(edit);
  try {
    return runProgramWith(config, [], copy.dir);
  } finally {
    copy.dispose();
  }
}

export const byType = (dump: ProgramDump, type: string) => dump.registrations.filter((r) => r.type === type);
export const named = (dump: ProgramDump, name: string) => {
  const reg = dump.registrations.find((r) => r.name === name);
  if (!reg) throw new Error(`no resource named ${name} (have ${dump.registrations.map((r) => r.name).join(", ")})`);
  return reg;
};
export const REMOTE = "command:remote:Command";
