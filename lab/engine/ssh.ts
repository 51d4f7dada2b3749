// Runs a command on a lab host over real OpenSSH, the way the command provider runs `create`/`delete`:
// the command text goes to the remote shell, stdin is piped, stdout/stderr are captured.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Connection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  hostKey?: string;
  perDialTimeout?: number;
}

export interface RunResult { code: number; stdout: string; stderr: string }

export interface SshOptions {
  /** Private working dir for keys, pinned host keys and control sockets (under .lab/). */
  workDir: string;
  /** ssh_config that maps lab host names to their addresses (written by lab/hosts.sh). */
  sshConfig?: string;
  /** Called with each complete line of output as it arrives. */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

function writePrivate(file: string, text: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });
  }
  return file;
}

/** ssh arguments for a connection: key from the inputs, the pinned host key when given, one multiplexed master. */
export function sshArgs(conn: Connection, options: SshOptions): string[] {
  const args = ["-o", "BatchMode=yes", "-o", `ConnectTimeout=${conn.perDialTimeout ?? 15}`, "-p", String(conn.port ?? 22)];
  if (options.sshConfig && fs.existsSync(options.sshConfig)) args.push("-F", options.sshConfig);
  if (conn.privateKey) {
    args.push("-i", writePrivate(path.join(options.workDir, "keys", `${digest(conn.privateKey)}.key`), conn.privateKey), "-o", "IdentitiesOnly=yes");
  }
  if (conn.hostKey) {
    // Like the provider's hostKey: accept exactly this key, whatever name the host is reached by.
    const alias = `zf-pinned-${digest(conn.hostKey)}`;
    const known = writePrivate(path.join(options.workDir, "known_hosts", alias), `${alias} ${conn.hostKey}\n`);
    args.push("-o", `HostKeyAlias=${alias}`, "-o", `UserKnownHostsFile=${known}`, "-o", "StrictHostKeyChecking=yes");
  } else {
    // The provider checks nothing without hostKey (facts/pulumi.md); the lab does the same.
    args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR");
  }
  const control = path.join(options.workDir, "cm");
  fs.mkdirSync(control, { recursive: true, mode: 0o700 });
  args.push("-o", "ControlMaster=auto", "-o", `ControlPath=${control}/%C`, "-o", "ControlPersist=120");
  args.push("-l", conn.user ?? "root", conn.host);
  return args;
}

export function runOverSsh(conn: Connection, command: string, stdin: string | undefined, options: SshOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...sshArgs(conn, options), "--", command], { stdio: ["pipe", "pipe", "pipe"] });
    const out = { stdout: "", stderr: "" };
    for (const stream of ["stdout", "stderr"] as const) {
      let partial = "";
      child[stream].setEncoding("utf8");
      child[stream].on("data", (chunk: string) => {
        out[stream] += chunk;
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        lines.forEach((line) => options.onLine?.(stream, line));
      });
      child[stream].on("end", () => { if (partial) options.onLine?.(stream, partial); });
    }
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 255, ...out }));
    child.stdin.on("error", () => undefined); // the remote may exit without reading stdin
    child.stdin.end(stdin ?? "");
  });
}
