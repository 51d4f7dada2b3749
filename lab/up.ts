// `npm run lab -- apply`: `pulumi up` of the lab stack on the real Pulumi engine, through the Automation API.
// The CLI is the one `npm run pulumi:install` built (the SDK's version); state is a file backend under .lab/ with
// the passphrase secrets provider; the program is index.ts, run as an inline program (the SDK serves the language
// runtime); `command:remote:Command` is served by the lab's command plugin (lab/command-plugin) over real SSH.
// Usage: node --import tsx lab/up.ts [--stack-file Pulumi.lab.yaml] [--lab-dir .lab] [--program-dir DIR] [--preview]
//          [--expect-no-changes] [--stop-on-error] | --cancel
// `up` runs with --continue-on-error, as the deploy workflow does: after a failed step the engine still finishes
// the chains of the failed host's wave-mates (nothing that depends on the failure runs, so no later wave starts);
// --stop-on-error shows the engine's default instead (no new step starts after the first failure).
// --cancel removes the lock a killed `pulumi up` left on the stack (`pulumi cancel`), so the next `up` can run.
// Writes .lab/last-apply.json ({counts, executed, error, seconds}) and the CLI's own output to .lab/last-up.log.
// Exit codes: 0 converged (or preview clean), 1 a step failed or preview found changes, 2 bad usage or config.
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { REPO_ROOT } from "./hosts";
import { labPulumiCommand, labPulumiEnv, registerCommandPlugin } from "./pulumi-cli";
import { labConfig } from "./up-config";
import { EngineProgress } from "./up-progress";

interface Args { stackFile: string; labDir: string; programDir: string; preview: boolean; expectNoChanges: boolean; stopOnError: boolean; cancel: boolean }

function parseArgs(argv: string[]): Args {
  const args: Args = {
    stackFile: path.join(REPO_ROOT, "Pulumi.lab.yaml"), labDir: process.env.LAB_DIR ?? path.join(REPO_ROOT, ".lab"), programDir: REPO_ROOT,
    preview: false, expectNoChanges: false, stopOnError: false, cancel: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--preview") args.preview = true;
    else if (flag === "--expect-no-changes") args.expectNoChanges = true;
    else if (flag === "--stop-on-error") args.stopOnError = true;
    else if (flag === "--cancel") args.cancel = true;
    else if (flag === "--stack-file" || flag === "--lab-dir" || flag === "--program-dir") {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      if (flag === "--stack-file") args.stackFile = path.resolve(value);
      else if (flag === "--lab-dir") args.labDir = path.resolve(value);
      else args.programDir = path.resolve(value);
    } else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

/** The lab stack in .lab/pulumi/, its config rewritten from the stack file each run (the encryption salt kept). */
async function labStack(args: Args): Promise<Stack> {
  const workDir = path.join(args.labDir, "pulumi");
  fs.mkdirSync(workDir, { recursive: true });
  const env = labPulumiEnv(args.labDir);
  registerCommandPlugin(args.labDir);
  // A fresh evaluation of index.ts per process: the driver runs one operation and exits.
  const program = async () => {
    const main = await import(path.join(args.programDir, "index.ts"));
    return { rolloutPlan: main.rolloutPlan, workers: main.workers };
  };
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "lab", projectName: "zombie-fleet", program }, {
    workDir, envVars: env, pulumiCommand: await labPulumiCommand(path.join(args.labDir, "pulumi.pid")),
    projectSettings: { name: "zombie-fleet", runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } },
    secretsProvider: "passphrase",
  });
  const stackFile = path.join(workDir, "Pulumi.lab.yaml");
  const salt = fs.existsSync(stackFile) ? /^encryptionsalt: .*$/m.exec(fs.readFileSync(stackFile, "utf8"))?.[0] : undefined;
  fs.writeFileSync(stackFile, salt ? `${salt}\n` : "");
  await stack.setAllConfig(labConfig(args.stackFile, args.labDir));
  return stack;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const progress = new EngineProgress(started, (line) => console.log(line));
  const log = fs.createWriteStream(path.join(args.labDir, "last-up.log"));
  const summary = path.join(args.labDir, "last-apply.json");
  let failure: string | undefined;
  let changes = 0;
  try {
    const stack = await labStack(args);
    console.log(`lab ${args.preview ? "preview" : "up"}: ${path.relative(REPO_ROOT, args.stackFile)} on the real engine (pulumi ${(stack.workspace as LocalWorkspace).pulumiVersion})`);
    const common = { onEvent: progress.onEvent, onOutput: (s: string) => log.write(s), color: "never" as const };
    if (args.cancel) {
      await stack.cancel();
      console.log("lab cancel: the stack's lock is removed; `pulumi up` re-runs what the killed one left pending");
      return 0;
    }
    if (args.preview) {
      const result = await stack.preview({ ...common, expectNoChanges: args.expectNoChanges, diff: true });
      changes = Object.entries(result.changeSummary).filter(([op]) => op !== "same").reduce((n, [, c]) => n + (c ?? 0), 0);
    } else {
      await stack.up({ ...common, continueOnError: !args.stopOnError });
    }
  } catch (err) {
    failure = progress.firstError() ?? (err as Error).message.split("\n").slice(0, 3).join(" ");
  }
  log.end();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const { counts, executed } = progress;
  console.log(`lab ${args.preview ? "preview" : "up"}: ${counts.create} created, ${counts.update} updated, ${counts.replace} replaced, ${counts.delete} deleted, ${counts.same} unchanged; ${executed.length} commands executed in ${seconds}s`);
  fs.writeFileSync(summary, JSON.stringify({ counts, executed, error: failure, changes, seconds: Number(seconds) }, null, 1));
  if (failure) {
    console.error(`lab ${args.preview ? "preview" : "up"}: FAILED: ${failure}`);
    return /invalid stack config|missing required configuration/.test(failure) ? 2 : 1;
  }
  return 0;
}

main().then((code) => process.exit(code), (err) => { console.error(`lab up: ${(err as Error).message}`); process.exit(2); });
