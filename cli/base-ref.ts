// `npm run plan -- --base <git ref>`: the stack file AND the program as they were at a commit. Extracts that
// commit's program folders and stack file into a temporary directory (git archive), imports its modules there (tsx
// compiles them; its imports resolve to this checkout's node_modules) and digests both programs on the same stack
// config (plan/program-digest.ts). It runs the code of the ref: give refs you trust (the base branch).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import {
  PROGRAM_EXPORTS, ProgramChange, ProgramDigest, ProgramModules, compareDigests, programDigest,
} from "../plan/program-digest";

/** Where the exports of ProgramModules live: in the folders by layer, or (a base from before them) in components/. */
const MODULE_FILES: readonly (readonly [string, string])[] = [
  ["config/load", "components/config-load"], ["host/units", "components/units"], ["host/env", "components/env"],
  ["host/fingerprint", "components/fingerprint"], ["host/commands", "components/host-commands"],
];

/** Files whose change the digest evaluates; any other program file is named in a note for `pulumi preview`. */
const DIGESTED = /^(host-scripts\/|host\/(commands|units|env|fingerprint|script-command|step-inputs|steps)\.ts$|plan\/planner\.ts$|config\/(schema|load|duration)\.ts$)/;
const PROGRAM = /^(index\.ts$|components\/|config\/|host\/|host-scripts\/|plan\/|Pulumi\.yaml$|package(-lock)?\.json$)/;

/** The folders of the program a base ref is extracted with (those that exist at that ref). */
const PROGRAM_DIRS = ["config", "host", "host-scripts", "plan", "components"];

export class BaseRefError extends Error {}

function git(repo: string, args: string[], input?: Buffer): Buffer {
  return execFileSync("git", ["-C", repo, ...args], { input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

/** The commit `ref` names in `repo`, or undefined when it names none. */
export function resolveRef(repo: string, ref: string): string | undefined {
  if (ref.startsWith("-")) return undefined;
  try {
    return git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface BaseTree {
  /** The commit, resolved. */
  commit: string;
  /** The stack file as it was at the commit, in the temporary tree. */
  stackFile: string;
  dir: string;
  /** Program files changed between the commit and the work tree. */
  files: string[];
  cleanup(): void;
}

/** Extracts `commit`'s program folders and the stack file (repo-relative `stackPath`) into a temporary directory. */
export function extractBase(repo: string, commit: string, ref: string, stackPath: string): BaseTree {
  if (stackPath.startsWith("..") || path.isAbsolute(stackPath)) {
    throw new BaseRefError(`--base ${ref}: the stack file must be inside the repository ${repo} to be read at a git ref`);
  }
  try {
    git(repo, ["cat-file", "-e", `${commit}:${stackPath}`]);
  } catch {
    throw new BaseRefError(`--base ${ref}: ${stackPath} does not exist at ${commit.slice(0, 7)} (a new stack file: plan it without --base)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-base-"));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const dirs = PROGRAM_DIRS.filter((d) => { try { git(repo, ["cat-file", "-e", `${commit}:${d}`]); return true; } catch { return false; } });
    const tar = git(repo, ["archive", "--format=tar", commit, ...dirs, stackPath]);
    execFileSync("tar", ["-x", "-C", dir], { input: tar, stdio: ["pipe", "ignore", "pipe"] });
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
    const files = git(repo, ["diff", "--name-only", commit, "--", "."]).toString().split("\n")
      .filter((f) => PROGRAM.test(f));
    return { commit, stackFile: path.join(dir, stackPath), dir, files, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** The program modules under `root` (a checkout or an extracted base). */
export async function loadProgram(root: string): Promise<ProgramModules> {
  const merged: Record<string, unknown> = {};
  // Before host-commands.ts, what a host gets was spread over worker.ts and remote.ts, which need Pulumi resources.
  const exists = (file: string) => fs.existsSync(path.join(root, `${file}.ts`));
  const layout = MODULE_FILES.every(([, before]) => exists(before)) ? 1 : 0;
  const lacking = MODULE_FILES.map((files) => files[layout]).filter((file) => !exists(file));
  if (lacking.length) {
    throw new Error(`it predates ${lacking.map((f) => `${f}.ts`).join(", ")} (the pure definition of what a host gets)`);
  }
  for (const file of MODULE_FILES.map((files) => files[layout])) {
    const url = pathToFileURL(path.join(root, `${file}.ts`)).href;
    const mod = (await import(url)) as Record<string, unknown> & { default?: Record<string, unknown> };
    Object.assign(merged, mod.default ?? {}, mod);
  }
  const missing = PROGRAM_EXPORTS.filter((name) => typeof merged[name] !== "function");
  if (missing.length) throw new Error(`its program modules export no ${missing.join(", ")}`);
  return merged as unknown as ProgramModules;
}

/**
 * Compares the base program with the head's, each applied to the same stack config: the head's stack file when
 * both versions load it, else the base's. When no config loads in both, or the base program throws, the change is
 * `unknown` (every command of every active host is then assumed to re-run).
 */
export async function compareProgram(base: BaseTree, ref: string, headRoot: string, headStack: string): Promise<ProgramChange> {
  const files = base.files;
  let baseMods: ProgramModules;
  let headMods: ProgramModules;
  try {
    [baseMods, headMods] = [await loadProgram(base.dir), await loadProgram(headRoot)];
  } catch (err) {
    return unknown(ref, files, `the program at ${ref} cannot be evaluated offline: ${firstLine(err)}`);
  }
  let lastError = "";
  for (const stack of [headStack, base.stackFile]) {
    let digests: [ProgramDigest, ProgramDigest];
    try {
      digests = [programDigest(baseMods, baseMods.loadStackFile(stack).config), programDigest(headMods, headMods.loadStackFile(stack).config)];
    } catch (err) {
      lastError = firstLine(err);
      continue;
    }
    return { base: ref, files, ...compareDigests(...digests) };
  }
  return unknown(ref, files, `the programs at ${ref} and here accept no common stack config (${lastError})`);
}

/** Program files the digest does not evaluate (index.ts, worker.ts, the providers' versions…). */
export function undigestedFiles(change: ProgramChange): string[] {
  return change.files.filter((f) => !DIGESTED.test(f));
}

function unknown(ref: string, files: string[], why: string): ProgramChange {
  return { base: ref, files, changes: [`${why}: every command is assumed to re-run`], reruns: new Set(), unknown: why };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0];
}
