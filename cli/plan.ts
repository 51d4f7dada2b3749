// `npm run plan`: prints the rollout plan of a stack file, offline and without credentials, so an operator sees
// the order, gates and worst case before `pulumi up`. Only parses arguments and prints: loading, planning and
// rendering are the pure modules the program uses too. Never imports @pulumi/* (it must start in well under 1.5 s).
// Exit codes: 0 plan printed, 1 invalid stack config (every problem on stderr), 2 bad usage.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadStackFile } from "../config/load";
import { FORMATS, Format, renderPlan } from "../plan/render/format";
import { compareStacks, stackSnapshot } from "../plan/diff";
import { buildReport } from "../plan/report";
import { ProgramChange } from "../plan/program-digest";
import { BaseRefError, BaseTree, compareProgram, extractBase, resolveRef, undigestedFiles } from "./base-ref";

const REPO_ROOT = path.resolve(__dirname, "..");

const USAGE = `Usage: npm run plan -- [--stack NAME | --file PATH] [--base PATH|GIT-REF] [--format ${FORMATS.join("|")}]

Prints the rollout plan of a stack: canary, waves and their hosts, each step's budget, the gates between waves,
the worst-case duration, held workers, where secrets come from, and warnings. Reads no secret and needs no network.
With --base, also why each worker is in the rollout (new host, release change, env change, unit change,
drain/verify contract change, host change, program change, held, unchanged, removed), compared with the stack
file as it was, and with a git ref also with the program as it was.

  --stack NAME    read Pulumi.NAME.yaml from the repository root (default: prod)
  --file PATH     read any stack file instead
  --base REF      a git ref (origin/main, a commit): the stack file AND the program (step scripts, unit and .env
                  renderers, step inputs) as they were there; runs that ref's components/, so give refs you trust
  --base PATH     only the stack file as it was before, e.g. from
                  \`git show origin/main:Pulumi.prod.yaml > base.yaml\`; secrets are compared by ciphertext only
  --format FMT    text (default), markdown (a pull-request comment), mermaid (a flowchart), json
  -h, --help      show this help

Exit status: 0 plan printed, 1 invalid stack config (each problem on stderr), 2 bad usage.
`;

/** Bad command line: exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {}

export interface CliOptions {
  /** Absolute path of the stack file. */
  file: string;
  /** Stack name shown in headings. */
  stack: string;
  format: Format;
  /** Absolute path of the stack file as it was before (--base), when given. */
  base?: string;
  /** --base as a git ref (when it names no file): the stack file and the program at that commit. */
  baseRef?: { ref: string; commit: string };
}

export function parseCli(argv: string[], cwd: string): CliOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        file: { type: "string" },
        base: { type: "string" },
        format: { type: "string", default: "text" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.help) return "help";
  const format = parsed.format as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")} (got ${parsed.format})`);
  if (parsed.stack !== undefined && parsed.file !== undefined) throw new UsageError("give --stack or --file, not both");
  let base: string | undefined;
  let baseRef: CliOptions["baseRef"];
  if (parsed.base !== undefined) {
    base = path.resolve(cwd, parsed.base);
    if (!fs.existsSync(base)) {
      base = undefined;
      const commit = resolveRef(REPO_ROOT, parsed.base);
      if (!commit) throw new UsageError(`--base ${parsed.base}: no such file, and no git commit of that name in ${REPO_ROOT}`);
      baseRef = { ref: parsed.base, commit };
    }
  }
  const bases = { ...(base ? { base } : {}), ...(baseRef ? { baseRef } : {}) };
  if (parsed.file !== undefined) {
    const file = path.resolve(cwd, parsed.file);
    if (!fs.existsSync(file)) throw new UsageError(`--file ${parsed.file}: no such file`);
    return { file, stack: stackNameOf(file), format, ...bases };
  }
  const stack = parsed.stack ?? "prod";
  if (!/^[A-Za-z0-9._-]+$/.test(stack)) throw new UsageError(`--stack must be a stack name like prod (got ${stack})`);
  const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    throw new UsageError(`--stack ${stack}: no Pulumi.${stack}.yaml in ${REPO_ROOT}; stacks here: ${knownStacks().join(", ") || "none"}`);
  }
  return { file, stack, format, ...bases };
}

/** `Pulumi.lab.yaml` → `lab`; any other file name without its extension. */
function stackNameOf(file: string): string {
  const base = path.basename(file);
  return /^Pulumi\.(.+)\.ya?ml$/.exec(base)?.[1] ?? base.replace(/\.ya?ml$/, "");
}

function knownStacks(): string[] {
  return fs.readdirSync(REPO_ROOT).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();
}

/** The file as the operator knows it: relative to the repository when inside it. */
function displayPath(file: string): string {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

export async function main(argv: string[]): Promise<number> {
  let options: CliOptions | "help";
  try {
    // npm runs scripts from the package root; INIT_CWD is where the operator typed the command.
    options = parseCli(argv, process.env.INIT_CWD ?? process.cwd());
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`plan: ${err.message}\nRun \`npm run plan -- --help\` for usage.\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const shown = displayPath(options.file);
  let tree: BaseTree | undefined;
  let baseFile = options.base;
  try {
    let program: ProgramChange | undefined;
    if (options.baseRef) {
      const { ref, commit } = options.baseRef;
      tree = extractBase(REPO_ROOT, commit, ref, path.relative(REPO_ROOT, options.file));
      baseFile = tree.stackFile;
      program = await compareProgram(tree, ref, REPO_ROOT, options.file);
    }
    const head = loadStackFile(options.file);
    const label = options.baseRef ? `${options.baseRef.ref}:${shown}` : baseFile && displayPath(baseFile);
    const reasons = baseFile === undefined ? undefined : compareStacks(
      stackSnapshot(loadStackFile(baseFile)),
      stackSnapshot(head),
      label!,
      program,
    );
    if (reasons) reasons.notes.push(...programNotes(program));
    process.stdout.write(renderPlan(buildReport(options.stack, shown, head, reasons), options.format));
    return 0;
  } catch (err) {
    if (err instanceof BaseRefError) {
      process.stderr.write(`plan: ${err.message}\nNothing was planned.\n`);
      return 2;
    }
    if (!(err instanceof ConfigError)) throw err;
    const count = err.problems.length;
    const where = err.source === baseFile ? `${options.baseRef ? `${shown} at ${options.baseRef.ref}` : displayPath(baseFile!)} (the --base file)` : shown;
    process.stderr.write(`plan: invalid stack config in ${where} (${count} problem${count === 1 ? "" : "s"}):\n`);
    process.stderr.write(err.problems.map((p) => `  ${p}\n`).join(""));
    process.stderr.write("Nothing was planned. Fix these and run again.\n");
    return 1;
  } finally {
    tree?.cleanup();
  }
}

/** What the reasons cannot see of the program: never compared (a --base file), or files the digest leaves out. */
function programNotes(program: ProgramChange | undefined): string[] {
  if (!program) return ["the program was not compared (--base is a file): give --base a git ref to see what a code change re-runs"];
  const others = undigestedFiles(program);
  return others.length ? [`program files changed that this plan does not evaluate (\`pulumi preview\` shows what they do): ${others.join(", ")}`] : [];
}

// `npm run plan | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? 0);
});

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
