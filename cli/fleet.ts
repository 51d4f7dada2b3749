// `npm run fleet`: the operator's view of a live fleet. `status` asks every worker of a stack, over SSH in parallel
// with a bounded time per host, what it runs now (host-scripts/status.sh); `logs` follows one host's journal.
// Hosts and SSH settings come from the stack (cli/fleet-source.ts); verdict and views are cli/fleet-report.ts and
// cli/fleet-format.ts. Exit codes: status 0 every host answered, healthy and on one release, 1 not; 2 bad usage
// or the stack could not be read; logs: ssh's own.
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { formatStatusJson, formatStatusText, STATUS_FORMATS, StatusFormat } from "./fleet-format";
import { HostResult, parseHostReport, verdict } from "./fleet-report";
import { FleetSource, loadFleet, SourceError } from "./fleet-source";
import { KeyFiles, logsCommand, pinnedKnownHosts, runSsh, SshAccess, sshArgv, sshFailure, statusCommand } from "./fleet-ssh";

const USAGE = `Usage: npm run fleet -- status [--stack NAME] [--format ${STATUS_FORMATS.join("|")}] [--timeout SECONDS]
       npm run fleet -- logs HOST [--since TIME] [--stack NAME]

status  asks every worker of the stack, in parallel, over SSH: the release \`current\` and \`previous\` point to,
        both units' state and since when, whether the worker drains and the runs it holds, the last rollout
        step's status line and time; and names the hosts that did not answer within --timeout (default 5 s).
logs    follows both units' journal of one worker (journalctl -u zombied-executor -u zombied-worker -f),
        from --since (a journalctl time: "10 min ago", "2026-04-02 10:00") or the last lines. Ctrl-C ends it.

  --stack NAME   the stack (default: prod); \`lab\` reads the lab's state under .lab/ (npm run lab -- apply)
Hosts are the stack's outputs (workers.<name>: tailnet, else public address); SSH user, port, key and host-key
pins are the stack's config, as the program's commands use them. Needs the Pulumi CLI and access to the stack.

Exit status (status): 0 every host answered, both units active, none draining, all on one release;
1 a host did not answer, is unhealthy or drains, or the hosts run different releases; 2 bad usage or the stack
could not be read.
`;

class UsageError extends Error {}

interface Options { command: "status" | "logs"; stack: string; format: StatusFormat; timeoutS: number; host?: string; since?: string }

export function parseFleetArgs(argv: string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        stack: { type: "string" }, format: { type: "string" }, timeout: { type: "string" }, since: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const [command, ...rest] = positionals;
  if (command !== "status" && command !== "logs") throw new UsageError(`the first word must be status or logs (got ${command ?? "nothing"})`);
  const stack = values.stack ?? "prod";
  if (!/^[A-Za-z0-9._-]+$/.test(stack)) throw new UsageError(`--stack must be a stack name like prod (got ${stack})`);
  const format = (values.format ?? "text") as StatusFormat;
  if (!STATUS_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${STATUS_FORMATS.join(", ")} (got ${values.format})`);
  const timeoutS = Number(values.timeout ?? "5");
  if (!(timeoutS >= 1 && timeoutS <= 120)) throw new UsageError(`--timeout must be seconds from 1 to 120 (got ${values.timeout})`);
  if (command === "status") {
    if (rest.length) throw new UsageError(`status takes no host (got ${rest.join(" ")})`);
    if (values.since !== undefined) throw new UsageError("--since is for logs");
    return { command, stack, format, timeoutS };
  }
  if (rest.length !== 1) throw new UsageError(`logs takes one host (got ${rest.length ? rest.join(" ") : "none"})`);
  if (values.since !== undefined && !/^[\w :.+-]{1,64}$/.test(values.since)) {
    throw new UsageError(`--since must be a journalctl time like "10 min ago" or "2026-04-02 10:00" (got ${values.since})`);
  }
  return { command, stack, format, timeoutS, host: rest[0], ...(values.since !== undefined ? { since: values.since } : {}) };
}

/** The stack's key and pins written to a private temp directory (never argv); removed on exit. */
function sshAccess(source: FleetSource): SshAccess {
  const { ssh } = source.config;
  if (!ssh.privateKey) throw new SourceError(`stack ${source.stack} has no ssh.privateKey: the fleet's key is needed to reach its hosts`);
  const files = new KeyFiles();
  const pins = Object.keys(ssh.hostKeys);
  return {
    user: ssh.user, port: ssh.port, identityFile: files.write("id", ssh.privateKey), pinned: new Set(pins),
    ...(pins.length ? { pinFile: files.write("known_hosts", pinnedKnownHosts(ssh.hostKeys)) } : {}),
    ...(source.knownHostsFile ? { knownHostsFile: source.knownHostsFile } : {}),
  };
}

async function status(opts: Options, source: FleetSource): Promise<number> {
  const access = sshAccess(source);
  const timeoutMs = opts.timeoutS * 1000;
  const connectS = Math.max(1, Math.floor(opts.timeoutS * 0.6)); // ssh names a refused or unreachable host itself
  const readS = Math.max(1, opts.timeoutS - 1); // a journal read on the host ends before the session's bound
  const asked = source.config.workers.filter((w) => !w.gone);
  const results = await Promise.all(asked.map(async (w): Promise<HostResult> => {
    const out = source.outputs[w.name];
    const base = { name: w.name, ...(out?.recorded ? { recorded: out.recorded } : {}) };
    if (!out?.address) return { ...base, error: "no address in the stack's outputs (not set up by `pulumi up` yet?)" };
    const r = await runSsh(sshArgv(access, w.name, out.address, statusCommand(source.config, w.name, readS), connectS), timeoutMs);
    const failed = sshFailure(r, timeoutMs);
    const common = { ...base, address: out.address, ms: r.ms };
    if (failed) return { ...common, error: failed };
    const parsed = parseHostReport(r.stdout);
    return "error" in parsed ? { ...common, error: parsed.error } : { ...common, report: parsed };
  }));
  const view = {
    stack: source.stack, configured: source.config.release.version, results, verdict: verdict(results),
    gone: source.config.workers.filter((w) => w.gone).map((w) => w.name),
  };
  process.stdout.write(opts.format === "json" ? formatStatusJson(view) : formatStatusText(view));
  return view.verdict.exitCode;
}

async function logs(opts: Options, source: FleetSource): Promise<number> {
  const known = source.config.workers.map((w) => w.name);
  if (!known.includes(opts.host!)) throw new UsageError(`no worker ${opts.host} in stack ${source.stack}; its workers: ${known.join(", ") || "none"}`);
  const address = source.outputs[opts.host!]?.address;
  if (!address) throw new SourceError(`${opts.host}: no address in the stack's outputs of ${source.stack} (not set up by \`pulumi up\` yet?)`);
  const access = sshAccess(source);
  const argv = sshArgv(access, opts.host!, address, logsCommand(source.config, opts.since), Math.min(10, opts.timeoutS * 2));
  const child = spawn("ssh", argv, { stdio: ["ignore", "inherit", "inherit"] });
  return new Promise((resolve) => {
    child.on("error", (err) => { console.error(`fleet logs: ${err.message}`); resolve(2); });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(argv: string[]): Promise<number> {
  try {
    const opts = parseFleetArgs(argv);
    if (opts === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    const source = await loadFleet(opts.stack);
    return opts.command === "status" ? await status(opts, source) : await logs(opts, source);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`fleet: ${err.message}\n(npm run fleet -- --help)`);
      return 2;
    }
    if (err instanceof SourceError) {
      console.error(`fleet: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  // Exit once stdout took everything written before (a pipe is written asynchronously).
  main(process.argv.slice(2)).then((code) => process.stdout.write("", () => process.exit(code)), (err) => {
    console.error(`fleet: ${(err as Error).stack ?? err}`);
    process.exit(2);
  });
}
