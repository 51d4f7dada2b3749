// The lab engine's `apply`: runs the real program (index.ts) with a stack file under Pulumi's mock runtime and
// executes every remote command over SSH with the command provider's semantics, like `pulumi up` would.
// Usage: node --import tsx lab/engine/apply.ts [--stack-file Pulumi.lab.yaml] [--lab-dir .lab]
// Exit codes: 0 converged, 1 a command failed (nothing that depends on it ran), 2 bad usage or config.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { LabCommandProvider, ProgressEvent } from "./provider";
import { runProgram } from "./runtime";
import { deletionOrder, loadState, saveState } from "./state";

const ROOT = path.join(__dirname, "..", "..");

interface Args { stackFile: string; labDir: string; secretsFile: string }

function parseArgs(argv: string[]): Args {
  const args: Args = {
    stackFile: path.join(ROOT, "Pulumi.lab.yaml"),
    labDir: process.env.LAB_DIR ?? path.join(ROOT, ".lab"),
    secretsFile: path.join(ROOT, "lab", "secrets.json"),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    if (argv[i] === "--stack-file") args.stackFile = path.resolve(value);
    else if (argv[i] === "--lab-dir") args.labDir = path.resolve(value);
    else if (argv[i] === "--secrets-file") args.secretsFile = path.resolve(value);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return args;
}

/**
 * The stack config as `pulumi up` would hand it to the program. The lab's SSH key and its fake secrets are
 * added the way a Pulumi ESC environment adds the real ones in production.
 */
export function labConfig(args: Args): Record<string, string> {
  const doc = parseYaml(fs.readFileSync(args.stackFile, "utf8")) as { config?: Record<string, unknown> };
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (key.startsWith("zombie-fleet:")) raw[key.slice("zombie-fleet:".length)] = value;
  }
  const privateKey = fs.readFileSync(path.join(args.labDir, "ssh", "id_ed25519"), "utf8");
  raw.ssh = { ...(raw.ssh as object | undefined), privateKey };
  raw.secrets = { ...(raw.secrets as object | undefined), ...JSON.parse(fs.readFileSync(args.secretsFile, "utf8")) };
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [`zombie-fleet:${k}`, labAddresses(JSON.stringify(v), args.labDir)]));
}

/** Puts the addresses the lab picked at boot where the stack file names the lab's services (as DNS would). */
function labAddresses(json: string, labDir: string): string {
  const hosts = JSON.parse(fs.readFileSync(path.join(labDir, "hosts.json"), "utf8")) as { artifacts: { baseUrl: string }; redis: { url: string } };
  return json.replaceAll("http://lab-artifacts/", `${hosts.artifacts.baseUrl}/`).replaceAll("redis://lab-redis:6379", hosts.redis.url);
}

function progressPrinter(started: number) {
  return (e: ProgressEvent) => {
    const at = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    if (e.phase === "start") {
      console.log(`${at}s  ${e.op.padEnd(7)} ${e.name}`);
    } else {
      const mark = e.ok ? "done" : "FAILED";
      console.log(`${at}s  ${mark.padEnd(7)} ${e.name} (${e.seconds!.toFixed(1)}s)${e.statusLines?.length ? `  ${e.statusLines.join("; ")}` : ""}`);
    }
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const statePath = path.join(args.labDir, "state.json");
  const state = loadState(statePath);
  const started = Date.now();
  const provider = new LabCommandProvider({
    state,
    statePath,
    ssh: { workDir: path.join(args.labDir, "engine"), sshConfig: path.join(args.labDir, "ssh", "config") },
    onProgress: progressPrinter(started),
  });
  console.log(`lab apply: ${path.relative(ROOT, args.stackFile)} → ${Object.keys(state.resources).length} resources in state`);
  const run = await runProgram({ config: labConfig(args), stack: "lab", newResource: (reg) => provider.register(reg) });
  let failure = run.error;
  if (!failure) {
    // Like the engine: what the program no longer declares is deleted, dependents first.
    const doomed = Object.values(state.resources).filter((r) => !provider.seen.has(r.urn));
    try {
      for (const level of deletionOrder(doomed)) await Promise.all(level.map((r) => provider.remove(r)));
    } catch (err) {
      failure = err as Error;
    }
  }
  saveState(statePath, state);
  const { counts, executed } = provider.tally;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`lab apply: ${counts.create} created, ${counts.update} updated, ${counts.replace} replaced, ${counts.delete} deleted, ${counts.same} unchanged; ${executed.length} commands executed in ${seconds}s`);
  fs.writeFileSync(path.join(args.labDir, "last-apply.json"), JSON.stringify({ counts, executed, error: failure?.message, seconds: Number(seconds) }, null, 1));
  if (failure) {
    console.error(`lab apply: FAILED: ${failure.message.split("\n")[0]}`);
    return /invalid stack config/.test(failure.message) ? 2 : 1;
  }
  return 0;
}

main().then((code) => process.exit(code), (err) => { console.error(`lab apply: ${(err as Error).message}`); process.exit(2); });
