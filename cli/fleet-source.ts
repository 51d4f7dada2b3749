// Where `npm run fleet` finds a stack's hosts: its config (workers, SSH user, key and pins, drain contract) and
// its outputs (each worker's address and the release its last passed verify reported), both through the Automation
// API, which runs the Pulumi CLI: `pulumi config --show-secrets --json` (it opens the stack's ESC environments,
// pkg/cmd/pulumi/config/config.go at v3.248.0) and `pulumi stack output --json`. Through the workspace, not
// selectStack: the operator's selected stack is left as it was. `--stack lab` reads the lab's own state (.lab/).
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigMap, LocalWorkspace, OutputMap, PulumiCommand } from "@pulumi/pulumi/automation";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { FleetConfig } from "../config/schema";
import { ConfigError, loadFromPulumiConfig } from "../config/load";
import { LAB_DIR, REPO_ROOT, readLabHosts } from "../lab/hosts";
import { labPulumiEnv, pulumiBinary } from "../lab/pulumi-cli";

/** What the stack's outputs say of one worker. */
export interface WorkerOutput {
  /** The tailnet address when the worker has one, else its public address: where the program's commands go. */
  address?: string;
  /** The release its last passed verify reported (index.ts `workers.<name>.release`). */
  recorded?: string;
}

export interface FleetSource {
  stack: string;
  config: FleetConfig;
  outputs: Record<string, WorkerOutput>;
  /** The lab's known_hosts (its hosts share one pinned key); undefined for a real stack. */
  knownHostsFile?: string;
}

/** What the outputs record for a worker whose verify did not pass in the last `pulumi up`. */
export const UNREPORTED = "unknown: no verify passed in the last up";

/** The stack can not be read: no CLI, no such stack, no login, invalid config. */
export class SourceError extends Error {}

/** index.ts exports `workers: { <name>: { publicAddress, tailnetAddress, release, fingerprint } }`. */
export function workerOutputs(outputs: OutputMap): Record<string, WorkerOutput> {
  const workers = outputs.workers?.value;
  if (!workers || typeof workers !== "object") return {};
  // An output still unknown when its `up` ended (its command failed or never ran, under --continue-on-error) is
  // stored as the SDK's unknown sentinel (runtime/rpc.ts `unknownValue`): never an address, and no release.
  const str = (v: unknown) => (typeof v === "string" && v !== "" && v !== unknownValue ? v : undefined);
  return Object.fromEntries(Object.entries(workers as Record<string, Record<string, unknown>>).map(([name, w]) => {
    const address = str(w?.tailnetAddress) ?? str(w?.publicAddress);
    const recorded = w?.release === unknownValue ? UNREPORTED : str(w?.release);
    return [name, { ...(address ? { address } : {}), ...(recorded ? { recorded } : {}) }];
  }));
}

/** The program's own loader over the stack's config map (full key → value, JSON-encoded objects). */
export function configOf(map: ConfigMap, stack: string): FleetConfig {
  const all = Object.fromEntries(Object.entries(map).map(([key, v]) => [key, v.value]));
  return loadFromPulumiConfig(all, (key) => map[key]?.secret ?? true, stack);
}

/** The CLI's error without its stdout (which, for `config --show-secrets`, could hold a secret). */
function cliError(err: unknown): string {
  const text = (err as Error).message ?? String(err);
  const stderr = /\n\s*stderr: ([\s\S]*)$/.exec(text)?.[1] ?? text.split("\n")[0];
  return stderr.trim().split("\n").slice(0, 6).join("\n");
}

async function workspace(stack: string, labDir: string): Promise<{ ws: LocalWorkspace; knownHostsFile?: string }> {
  if (stack !== "lab") return { ws: await LocalWorkspace.create({ workDir: REPO_ROOT }) };
  const workDir = path.join(labDir, "pulumi");
  const hostsFile = path.join(labDir, "hosts.json");
  if (!fs.existsSync(path.join(workDir, "Pulumi.yaml")) || !fs.existsSync(hostsFile)) {
    throw new SourceError(`no lab stack in ${workDir} (or no ${hostsFile}): boot the lab and run \`npm run lab -- apply\` first`);
  }
  const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(pulumiBinary())) });
  const ws = await LocalWorkspace.create({ workDir, envVars: labPulumiEnv(labDir), pulumiCommand });
  return { ws, knownHostsFile: readLabHosts(hostsFile).knownHostsPath };
}

export async function loadFleet(stack: string, labDir = LAB_DIR): Promise<FleetSource> {
  let config: FleetConfig;
  let outputs: OutputMap;
  let knownHostsFile: string | undefined;
  try {
    const found = await workspace(stack, labDir);
    knownHostsFile = found.knownHostsFile;
    const [map, outs] = await Promise.all([found.ws.getAllConfig(stack), found.ws.stackOutputs(stack)]);
    outputs = outs;
    config = configOf(map, stack);
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`cannot read stack ${stack}: ${err instanceof ConfigError ? err.message : cliError(err)}`);
  }
  return { stack, config, outputs: workerOutputs(outputs), ...(knownHostsFile ? { knownHostsFile } : {}) };
}
