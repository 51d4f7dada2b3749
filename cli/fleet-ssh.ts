// SSH from the operator's machine to fleet hosts, for `npm run fleet`: the machine's OpenSSH client, the stack's
// SSH user, port, key and host-key pins as the program's commands use them (components/remote.ts). The key never
// goes into argv: it is written to a 0600 file in a 0700 temp directory that is removed on exit, Ctrl-C included.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FleetConfig } from "../config/schema";
import { HOST_SCRIPTS_DIR, shellQuote } from "../host/script-command";

/** How the CLI reaches the hosts of one stack. */
export interface SshAccess {
  user: string;
  port: number;
  /** Path of the private key file (a temp copy of the stack's key, or a file the lab already has). */
  identityFile: string;
  /** known_hosts holding the stack's pins (`ssh.hostKeys`), one line per worker name: checked under
   * HostKeyAlias=<worker>, whatever address the host has. */
  pinFile?: string;
  pinned: ReadonlySet<string>;
  /** known_hosts for the hosts without a pin (the lab's), checked strictly; without it, the user's own. */
  knownHostsFile?: string;
}

/** ssh's argv for one host: batch mode (never a prompt), bounded connect, the stack's key and pins. */
export function sshArgv(access: SshAccess, worker: string, address: string, remote: string, connectTimeoutS: number): string[] {
  const pinned = access.pinned.has(worker) && access.pinFile !== undefined;
  const known = pinned ? access.pinFile : access.knownHostsFile;
  return [
    "-i", access.identityFile, "-p", String(access.port),
    "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
    "-o", `ConnectTimeout=${connectTimeoutS}`, "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2",
    ...(known ? ["-o", `UserKnownHostsFile=${known}`, "-o", "GlobalKnownHostsFile=/dev/null"] : []),
    ...(pinned ? ["-o", `HostKeyAlias=${worker}`] : []),
    // Without a pin or a known_hosts of the stack: the user's known_hosts, trusted on first use, a changed key
    // refused (the program's commands check nothing then, components/remote.ts).
    "-o", `StrictHostKeyChecking=${known ? "yes" : "accept-new"}`,
    "-o", "LogLevel=ERROR", "--", `${access.user}@${address}`, remote,
  ];
}

/**
 * `[sudo -n] env … bash <scripts>/status.sh`: the read-only report script of the installed bundle, every input
 * given; `readTimeoutS` bounds each journal read on the host, inside the session's own bound.
 */
export function statusCommand(config: FleetConfig, worker: string, readTimeoutS: number): string {
  const inputs = { ZF_HOST: worker, ZF_DRAIN_COMPLETE_LOG: config.drain.completeLog, ZF_STEP_TIMEOUT: String(readTimeoutS) };
  const env = Object.entries(inputs).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [...sudo(config), "env", ...env, "bash", shellQuote(`${HOST_SCRIPTS_DIR}/status.sh`)].join(" ");
}

/** Both units' journal, followed: `journalctl -u zombied-executor -u zombied-worker -f [--since=…]`. */
export function logsCommand(config: FleetConfig, since?: string): string {
  return [
    ...sudo(config), "journalctl", "--no-pager", "-u", "zombied-executor", "-u", "zombied-worker", "-f",
    ...(since !== undefined ? [`--since=${shellQuote(since)}`] : []),
  ].join(" ");
}

function sudo(config: FleetConfig): string[] {
  return config.ssh.user !== "root" ? ["sudo", "-n"] : [];
}

export interface SshResult { code: number | null; stdout: string; stderr: string; timedOut: boolean; ms: number }

/** Runs ssh with a hard time bound: past `timeoutMs` the ssh process is killed and the host counts as silent. */
/** How long an exited ssh's pipes may stay open (held by a process it left behind) before its answer is taken. */
const PIPE_GRACE_MS = 2000;

export function runSsh(argv: string[], timeoutMs: number, sshBinary = "ssh"): Promise<SshResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(sshBinary, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill("SIGKILL"); }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => { if (stdout.length < 1_000_000) stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { if (stderr.length < 100_000) stderr += d.toString(); });
    let settled = false;
    const done = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, ms: Date.now() - started });
    };
    child.on("error", (err) => { stderr += err.message; done(null); });
    // The answer is complete when both pipes ended ('close'); 'exit' can come while the last of stdout is still
    // buffered (seen in the lab: a report cut after 273 bytes). A process ssh left behind holding the pipes must
    // not hold the answer either: after exit, wait at most PIPE_GRACE_MS for the pipes.
    child.on("close", (code) => done(code));
    child.on("exit", (code) => setTimeout(() => done(code), PIPE_GRACE_MS).unref());
  });
}

/** Why a host gave no report, in one line. */
export function sshFailure(r: SshResult, timeoutMs: number): string | undefined {
  if (r.timedOut) return `timed out after ${timeoutMs / 1000}s`;
  if (r.code === 0) return undefined;
  const last = r.stderr.trim().split("\n").filter(Boolean).at(-1);
  return `${r.code === 255 ? "ssh failed" : `exit ${r.code ?? "?"}`}${last ? `: ${last}` : ""}`;
}

/** A 0700 temp directory holding the key (0600) and the pinned known_hosts; removed on exit and on Ctrl-C. */
export class KeyFiles {
  readonly dir: string;
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-fleet-"));
    fs.chmodSync(this.dir, 0o700);
    const remove = () => this.dispose();
    process.once("exit", remove);
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(signal, () => { remove(); process.exit(128 + os.constants.signals[signal]); });
    }
  }

  write(name: string, text: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });
    return file;
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** known_hosts lines of the stack's pins, one per worker under its HostKeyAlias. */
export function pinnedKnownHosts(hostKeys: Record<string, string>): string {
  return Object.entries(hostKeys).map(([worker, key]) => `${worker} ${key.trim()}`).join("\n");
}
