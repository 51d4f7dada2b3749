// `npm run plan -- --base <git ref>` compares the program too: run for real in a throwaway git repository holding a
// copy of the program, with commits that change only the step scripts, only a unit renderer, or nothing.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ROLLOUT_STEPS } from "../../host/steps";

const ROOT = path.join(__dirname, "..", "..");
const repo = fs.mkdtempSync(path.join(os.tmpdir(), "zf-base-ref-"));
afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

const git = (...args: string[]) => execFileSync("git", args, {
  cwd: repo, encoding: "utf8",
  env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" },
}).trim();
const commit = (message: string) => { git("add", "-A"); git("commit", "-q", "-m", message); return git("rev-parse", "HEAD"); };
const edit = (file: string, change: (text: string) => string) => {
  const full = path.join(repo, file);
  const before = fs.readFileSync(full, "utf8");
  const after = change(before);
  expect(after, `${file} was edited`).not.toBe(before);
  fs.writeFileSync(full, after);
};

for (const item of ["package.json", "tsconfig.json", "cli", "config", "host", "host-scripts", "plan", "components", "Pulumi.prod.yaml"]) {
  fs.cpSync(path.join(ROOT, item), path.join(repo, item), { recursive: true });
}
fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(repo, "node_modules"));
fs.writeFileSync(path.join(repo, ".gitignore"), "node_modules\n");
git("init", "-q", "-b", "main");
// A program from before host/commands.ts: what a host gets cannot be evaluated without Pulumi there.
fs.renameSync(path.join(repo, "host", "commands.ts"), path.join(repo, "commands.ts.keep"));
const old = commit("before host-commands.ts");
fs.renameSync(path.join(repo, "commands.ts.keep"), path.join(repo, "host", "commands.ts"));
const base = commit("base");
edit("host-scripts/drain.sh", (t) => `${t}# a comment: the command text changes all the same\n`);
const scriptsOnly = commit("scripts only");
edit("host/units.ts", (t) => t.replace("STOP_MARGIN_SECONDS = 30", "STOP_MARGIN_SECONDS = 31"));
const rendererOnly = commit("unit renderer only");
edit("components/worker.ts", (t) => `${t}// a structural change the digest does not model\n`);
const workerOnly = commit("worker.ts only");

interface Json { reasons: { base: string; workers: Record<string, { reasons: string[]; changes: string[]; runs: string }>; notes: string[] } }

function plan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", path.join(repo, "cli", "plan.ts"), ...args], { cwd: repo, env: { ...process.env, INIT_CWD: repo } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
  });
}

async function reasons(head: string, baseRef: string): Promise<Json["reasons"]> {
  git("checkout", "-q", head);
  const run = await plan(["--base", baseRef, "--format", "json"]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return (JSON.parse(run.stdout) as Json).reasons;
}

const ACTIVE = ["zombie-prod-worker-ant", "zombie-prod-worker-bird", "zombie-prod-worker-cat", "zombie-prod-worker-dog", "zombie-prod-worker-eel"];
const NON_DEPLOY = ROLLOUT_STEPS.filter((s) => s !== "deploy");
// Every rollout step carries the hash of every rollout script (script-command.ts rolloutScriptsHash).
const ROLLOUT = [...ROLLOUT_STEPS, "canary-gate"].join(", ");

// The checks run one after another: each checks out a commit of the same repository.
describe("--base <git ref>", () => {
  test("a scripts-only change names every active worker: the bundle and the whole chain from its drain re-run", async () => {
    const r = await reasons(scriptsOnly, base.slice(0, 10));
    expect(r.base).toBe(`${base.slice(0, 10)}:Pulumi.prod.yaml`);
    for (const name of ACTIVE) {
      const w = r.workers[name];
      expect(w.reasons, name).toEqual(["program change"]);
      expect(w.changes).toEqual([
        "the command text changed: scripts", // the bundle's hash is an input of install-bundle
        "the files drain.sh runs changed: drain",
        `the rollout step scripts changed: ${ROLLOUT}`,
        "the script bundle changed: scripts",
      ]);
      // Not layout, .env or units: their scripts did not change.
      expect(w.runs).toMatch(new RegExp(`^scripts → ${ROLLOUT_STEPS.join(" → ")}( → canary-gate)?$`));
    }
    expect(r.workers["zombie-prod-worker-ant"].runs).toMatch(/ → canary-gate$/);
    expect(r.workers["zombie-prod-worker-fox"].reasons).toEqual(["held"]);
    expect(r.notes.join("\n")).not.toMatch(/does not evaluate/);
  }, 120_000);

  test("a base from before host-commands.ts cannot be evaluated: every command re-runs, and the plan says why", async () => {
    const r = await reasons(base, old);
    for (const name of ACTIVE) {
      expect(r.workers[name].changes, name).toEqual([`the program at ${old} cannot be evaluated offline: it predates `
        + "host/commands.ts (the pure definition of what a host gets): every command is assumed to re-run"]);
      expect(r.workers[name].runs).toMatch(new RegExp(`^scripts → tailnet → layout → env → units → ${ROLLOUT_STEPS.join(" → ")}`));
    }
  }, 120_000);

  test("control: the same commit as base re-runs nothing", async () => {
    const r = await reasons(scriptsOnly, "HEAD");
    for (const name of ACTIVE) expect(r.workers[name]).toEqual({ reasons: ["unchanged"], changes: [], runs: "nothing" });
  }, 120_000);

  test("a unit renderer change re-runs the units and the chain (the host fingerprint), not the download", async () => {
    const r = await reasons(rendererOnly, scriptsOnly);
    const w = r.workers["zombie-prod-worker-bird"];
    expect(w.reasons).toEqual(["program change"]);
    expect(w.changes).toEqual(expect.arrayContaining([
      "the unit texts (units.ts) changed: units",
      `the host fingerprint (unit texts, .env rendering, drain/verify contract) changed: ${ROLLOUT.replace("deploy, ", "")}`,
    ]));
    expect(w.runs).toBe(`units → ${NON_DEPLOY.join(" → ")} (no download: the release is unchanged)`);
  }, 120_000);

  test("a program file the digest does not model is named in a note, next to unchanged workers", async () => {
    const r = await reasons(workerOnly, rendererOnly);
    expect(r.workers["zombie-prod-worker-ant"].reasons).toEqual(["unchanged"]);
    expect(r.notes).toContain("program files changed that this plan does not evaluate (`pulumi preview` shows what they do): components/worker.ts");
  }, 120_000);

  test("a --base file compares the stack file only, and says so", async () => {
    git("checkout", "-q", workerOnly);
    fs.copyFileSync(path.join(repo, "Pulumi.prod.yaml"), path.join(repo, "base.yaml"));
    const run = await plan(["--base", "base.yaml", "--format", "json"]);
    fs.rmSync(path.join(repo, "base.yaml"));
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as Json).reasons.notes).toContain(
      "the program was not compared (--base is a file): give --base a git ref to see what a code change re-runs");
  }, 120_000);

  test("a ref that names nothing, or a stack file missing at the ref, exits 2 and plans nothing", async () => {
    git("checkout", "-q", workerOnly);
    const none = await plan(["--base", "no-such-ref"]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toMatch(/^plan: --base no-such-ref: no such file, and no git commit of that name in /);
    fs.copyFileSync(path.join(repo, "Pulumi.prod.yaml"), path.join(repo, "Pulumi.edge.yaml"));
    const missing = await plan(["--stack", "edge", "--base", base]);
    fs.rmSync(path.join(repo, "Pulumi.edge.yaml"));
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain(`Pulumi.edge.yaml does not exist at ${base.slice(0, 7)} (a new stack file: plan it without --base)`);
  }, 120_000);
});
