// The real Pulumi CLI for the lab: where `npm run pulumi:install` put it, the lab's own PULUMI_HOME and file
// backend under .lab/, and a PulumiCommand for the Automation API that records the CLI's PID (so a scenario can
// SIGKILL exactly that process group, as a killed CI job would) instead of letting execa hide it.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import * as automationCmd from "@pulumi/pulumi/automation/cmd";
import * as automationErrors from "@pulumi/pulumi/automation/errors";
import { REPO_ROOT } from "./hosts";

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
/** The CLI must be the SDK's own version: the lab proves what that engine does. */
export const PULUMI_VERSION = pkg.dependencies["@pulumi/pulumi"];
export const COMMAND_PLUGIN_VERSION = pkg.dependencies["@pulumi/command"];
/** Encrypts only the lab's fake secrets in the lab's own state; not a secret itself. */
export const LAB_PASSPHRASE = "zombie-fleet-lab";

const cacheDir = () => process.env.ZF_PULUMI_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "zombie-fleet");

/** Absolute path of the `pulumi` built by `npm run pulumi:install`; a clear error when it is missing. */
export function pulumiBinary(): string {
  const bin = path.join(cacheDir(), `pulumi-v${PULUMI_VERSION}`, "bin", "pulumi");
  if (!fs.existsSync(bin)) throw new Error(`no Pulumi CLI v${PULUMI_VERSION} at ${bin}: run \`npm run pulumi:install\` first`);
  return bin;
}

/** Environment of every CLI run of the lab: nothing of the operator's ~/.pulumi is read or written. */
export function labPulumiEnv(labDir: string): Record<string, string> {
  fs.mkdirSync(path.join(labDir, "pulumi-state"), { recursive: true });
  return {
    PULUMI_HOME: path.join(labDir, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${path.join(labDir, "pulumi-state")}`,
    PULUMI_CONFIG_PASSPHRASE: LAB_PASSPHRASE,
    // A missing plugin must be an error naming it, not a download attempt that hangs (no internet here).
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
  };
}

/**
 * Registers the lab's command plugin (lab/command-plugin, built by pulumi:install) in the lab's PULUMI_HOME as
 * `command` at the SDK's version, the way an operator registers a plugin file: `pulumi plugin install --file`.
 */
export function registerCommandPlugin(labDir: string): void {
  const plugin = path.join(cacheDir(), "lab-command-plugin");
  if (!fs.existsSync(plugin)) throw new Error(`no lab command plugin at ${plugin}: run \`npm run pulumi:install\` first`);
  const installed = path.join(labDir, "pulumi-home", "plugins", `resource-command-v${COMMAND_PLUGIN_VERSION}`, "pulumi-resource-command");
  const same = fs.existsSync(installed) && fs.readFileSync(installed).equals(fs.readFileSync(plugin));
  if (same) return;
  const result = spawnSync(pulumiBinary(), ["plugin", "install", "resource", "command", COMMAND_PLUGIN_VERSION, "--file", fs.realpathSync(plugin), "--reinstall"], {
    env: { ...process.env, ...labPulumiEnv(labDir) }, encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`pulumi plugin install failed: ${result.stderr || result.stdout}`);
}

// Both are exported at runtime but marked @internal (absent from the .d.ts files).
interface CommandResult { stdout: string; stderr: string; code: number }
const { CommandResult } = automationCmd as unknown as { CommandResult: new (stdout: string, stderr: string, code: number) => CommandResult };
const { createCommandError } = automationErrors as unknown as { createCommandError: (r: CommandResult) => Error };

/**
 * A PulumiCommand (the Automation API's way to run the CLI) that starts `pulumi` in its own process group and
 * writes its PID to `pidFile`, so `kill -9 -<pid>` ends the CLI and the provider plugins it started, nothing else.
 */
export async function labPulumiCommand(pidFile: string): Promise<PulumiCommand> {
  const command = pulumiBinary();
  // get() checks that the binary's `pulumi version` is one the SDK accepts; only its `run` is replaced.
  const cli = await PulumiCommand.get({ root: path.dirname(path.dirname(command)) });
  const run = (args: string[], cwd: string, env: Record<string, string>, onOutput?: (s: string) => void, onError?: (s: string) => void) =>
    new Promise<CommandResult>((resolve, reject) => {
      if (!args.includes("--non-interactive")) args.push("--non-interactive");
      const child = spawn(command, args, { cwd, env: { ...process.env, ...env, PULUMI_AUTOMATION_API: "true" }, detached: true });
      fs.writeFileSync(pidFile, String(child.pid));
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => { stdout += d; onOutput?.(d.toString()); });
      child.stderr.on("data", (d: Buffer) => { stderr += d; onError?.(d.toString()); });
      child.on("error", reject);
      child.on("close", (code, signal) => {
        fs.rmSync(pidFile, { force: true });
        const result = new CommandResult(stdout, stderr, code ?? (signal ? 128 : 1));
        // The Automation API tells "no such stack", "stack is locked"… apart by the error class it made from
        // stderr (automation/errors.js, @internal): make the same one.
        if (result.code === 0) resolve(result);
        else reject(createCommandError(result));
      });
    });
  return Object.assign(cli, { run }) as PulumiCommand;
}
