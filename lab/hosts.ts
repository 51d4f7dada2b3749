// The lab's contract for TypeScript tools: the shape of .lab/hosts.json (written by lab/hosts.sh up), and SSH
// to a lab host with the key and pinned host key it names. Uses the machine's OpenSSH client.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const LAB_DIR = process.env.LAB_DIR ?? path.join(REPO_ROOT, ".lab");
export const HOSTS_SH = path.join(REPO_ROOT, "lab", "hosts.sh");

/** One test host, as an SSH connection (the fields a `remote.Command` connection needs). */
export interface LabHost {
  name: string;
  address: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** The one host key every lab host shares, `ssh-ed25519 AAAA…`: pin it. */
  hostKey: string;
  /** Boot to "sshd accepts the key", and to `systemctl is-system-running` = running, in ms. */
  bootMs: number;
  runningMs: number;
}

export interface LabHosts {
  bridge: { name: string; address: string; cidr: string };
  redis: { url: string; host: string; port: number };
  /** Release artifacts: `${baseUrl}/<version>/release.json` and the tarballs beside it. */
  artifacts: { baseUrl: string; dir: string };
  hostKey: string;
  knownHostsPath: string;
  hosts: LabHost[];
}

export function readLabHosts(file = path.join(LAB_DIR, "hosts.json")): LabHosts {
  return JSON.parse(readFileSync(file, "utf8")) as LabHosts;
}

/** Release info for one baked version (v1, v2, v3-bad-doctor, v3-crashloop, v3-failing-runs). */
export interface LabRelease {
  version: string;
  worker: { url: string; sha256: string };
  executor: { url: string; sha256: string };
}

export function readLabRelease(version: string, lab = readLabHosts()): LabRelease {
  return JSON.parse(readFileSync(path.join(lab.artifacts.dir, version, "release.json"), "utf8")) as LabRelease;
}

export function sshArgs(host: LabHost, knownHostsPath: string): string[] {
  return [
    "-i", host.privateKeyPath, "-p", String(host.port), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=5", "-o", `UserKnownHostsFile=${knownHostsPath}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR", `${host.user}@${host.address}`,
  ];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program, feeding `stdin`; never rejects on a non-zero exit (the caller asserts on `code`). */
export function run(file: string, args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdin = opts.stdin === undefined ? "ignore" : "pipe";
    const child = spawn(file, args, { stdio: [stdin, "pipe", "pipe"], timeout: opts.timeoutMs ?? 120_000 });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A program may exit without reading its stdin (EPIPE); its exit code is what the caller judges.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(opts.stdin);
  });
}

/** `command` run by the host's login shell as the lab user (root). */
export function labSsh(
  lab: LabHosts, host: LabHost, command: string, opts: { stdin?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run("ssh", [...sshArgs(host, lab.knownHostsPath), command], opts);
}

/** `lab/hosts.sh ARGS…` (up N, down, status). */
export function hostsSh(args: string[], timeoutMs = 900_000): Promise<RunResult> {
  return run("bash", [HOSTS_SH, ...args], { timeoutMs });
}

/**
 * Takes a lab host off its network (`down`) or back (`up`): the host side of its veth pair, which lab/hosts.sh
 * made and named `<bridge>v<N>` (lab/net.sh host_net_up). The host runs on, but nothing reaches it: a dead or
 * partitioned machine as a client sees it (connects time out).
 */
export async function setHostLink(lab: LabHosts, host: string, state: "down" | "up"): Promise<void> {
  const index = /^lab-worker-(\d+)$/.exec(host)?.[1];
  if (!index || !lab.hosts.some((h) => h.name === host)) throw new Error(`no lab host ${host}`);
  const r = await run("ip", ["link", "set", `${lab.bridge.name}v${index}`, state]);
  if (r.code !== 0) throw new Error(`ip link set ${lab.bridge.name}v${index} ${state}: ${r.stderr}`);
}
