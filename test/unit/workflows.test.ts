// The GitHub workflows: schema-valid (@action-validator/core, the workflow schema compiled into the package, no
// network), the properties a deploy relies on (least permissions, which secrets each job reads and from which
// environment, no secrets for forks and Dependabot, the path filters, the tailnet join, one `pulumi up` within
// the saved preview, the pinned Pulumi CLI, one rollout at a time, a timeout above the plan's worst case), and
// their scripts run for real: the plan steps in a throwaway git repository, the pulumi steps with a stand-in
// `pulumi` and a local webhook server, the comment script against a fake GitHub.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { afterAll, describe, expect, test, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadStackFile } from "../../config/load";
import { buildReport } from "../../plan/report";
import { Raw } from "./fleet-fixture";
import { DEPLOY_JOB_TIMEOUT_MINUTES, DEPLOY_SETUP_MINUTES, GITHUB_JOB_LIMIT_MINUTES } from "../../plan/budget";

const ROOT = path.join(__dirname, "..", "..");
const FILES = { preview: ".github/workflows/preview.yml", deploy: ".github/workflows/deploy.yml" } as const;
const text = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const preview = parseYaml(text(FILES.preview)) as Raw;
const deploy = parseYaml(text(FILES.deploy)) as Raw;
const WORKFLOWS = { preview, deploy };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-workflows-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SECRETS = [
  "PULUMI_ACCESS_TOKEN", "OVH_ENDPOINT", "OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY",
  "TAILSCALE_OAUTH_CLIENT_ID", "TAILSCALE_OAUTH_CLIENT_SECRET", "TAILSCALE_API_KEY", "TAILSCALE_TAILNET",
];
const FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository";
const SETUP_MARGIN_MINUTES = DEPLOY_SETUP_MINUTES;

const jobsOf = (wf: Raw) => Object.entries(wf.jobs as Record<string, Raw>);
const stepsOf = (wf: Raw) => jobsOf(wf).flatMap(([id, job]) => (job.steps as Raw[]).map((step) => ({ job: id, step })));
const namedStep = (wf: Raw, job: string, name: RegExp) => (wf.jobs[job].steps as Raw[]).find((s) => name.test(s.name ?? ""))!;
const isTailnetJoin = (step: Raw) => /^tailscale\/github-action@/.test(step.uses ?? "");

/** GitHub's filter globs: `**` any path, `*` anything but `/`. */
const glob = (pattern: string) => new RegExp(`^${pattern.split("**")
  .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")).join(".*")}$`);
/** Whether a change to `file` runs a workflow with these `paths`: the last pattern that matches decides. */
function triggers(paths: string[], file: string): boolean {
  let on = false;
  for (const p of paths) if (glob(p.replace(/^!/, "")).test(file)) on = !p.startsWith("!");
  return on;
}

/** Runs a step's script in `cwd` as GitHub's `shell: bash` does (bash -eo pipefail), with a step summary file. */
function runStep(cwd: string, step: Raw, env: Record<string, string>) {
  const summary = path.join(tmp, `summary-${Math.random().toString(36).slice(2)}.md`);
  fs.writeFileSync(summary, "");
  const run = spawnSync("bash", ["-eo", "pipefail", "-c", step.run], {
    cwd, encoding: "utf8", env: { ...process.env, ...env, GITHUB_STEP_SUMMARY: summary, INIT_CWD: cwd },
  });
  return { ...run, summary: fs.readFileSync(summary, "utf8") };
}

/** runStep without blocking this process: a server in it must answer the step. */
function runStepAsync(cwd: string, step: Raw, env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-eo", "pipefail", "-c", step.run], { cwd, env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => { stdout += c; });
    child.stderr.on("data", (c) => { stderr += c; });
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/** An HTTP server on 127.0.0.1 that records each JSON body posted to it. */
async function recordingServer() {
  const received: Record<string, string>[] = [];
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c) => { data += c; });
    req.on("end", () => { received.push(JSON.parse(data)); res.writeHead(204).end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("schema", () => {
  test.each(Object.entries(FILES))("%s validates with @action-validator/core, warning only about globs", (_name, file) => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      expect(validateWorkflow(text(file)).errors).toEqual([]);
      for (const [message] of warn.mock.calls) expect(String(message)).toMatch(/^WARNING: Glob validation is not yet supported/);
    } finally {
      warn.mockRestore();
    }
  });

  test.each(Object.entries(FILES))("%s passes the action-validator command line", (_name, file) => {
    const cli = path.join(ROOT, "node_modules", "@action-validator", "cli", "cli.mjs");
    const run = spawnSync(process.execPath, [cli, path.join(ROOT, file)], { encoding: "utf8" });
    expect(run.stdout + run.stderr).not.toMatch(/"errors"/);
    expect(run.status).toBe(0);
  });

  test("control: the validator rejects a misspelt key, a bad permission and an unknown job in needs", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const source = text(FILES.deploy);
      for (const broken of [
        source.replace("concurrency:", "concurency:"),
        source.replace("contents: read", "contents: reed"),
        source.replace("needs: [test, plan]", "needs: [test, plann]"),
      ]) expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
    } finally {
      warn.mockRestore();
    }
  });

  test.each(Object.entries(FILES))("%s: every ${{ expression }} is closed on its line", (_name, file) => {
    for (const line of text(file).split("\n")) {
      expect(line.split("${{").length, line).toBe(line.split("}}").length);
    }
  });
});

describe("triggers", () => {
  const repoFiles = (() => {
    const out: string[] = [];
    const walk = (rel: string) => {
      for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
        if (["node_modules", ".git", ".lab"].includes(entry.name)) continue;
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(child);
        else out.push(child);
      }
    };
    walk("");
    return out;
  })();

  test.each([["preview", preview.on.pull_request.paths], ["deploy", deploy.on.push.paths]] as [string, string[]][])(
    "%s: every paths pattern matches a file of this repository", (_name, paths) => {
      for (const pattern of paths) {
        expect(repoFiles.some((f) => glob(pattern.replace(/^!/, "")).test(f)), pattern).toBe(true);
      }
    });

  test("pull requests: every file but prose outside docs/ runs the tests (code, tests, scripts, lab, CI)", () => {
    const paths = preview.on.pull_request.paths as string[];
    const prose = (f: string) => f.endsWith(".md") && !f.startsWith("docs/");
    for (const f of repoFiles) expect(triggers(paths, f), f).toBe(!prose(f));
    for (const f of ["test/unit/new.test.ts", "lab/cli.ts", "scripts/run-tests.mjs", ".github/workflows/deploy.yml", "bench/plan.ts", "docs/operations.md"]) {
      expect(triggers(paths, f), f).toBe(true);
    }
    expect(triggers(paths, "README.md")).toBe(false);
    expect(repoFiles.filter(prose).length, "control: some prose exists to leave out").toBeGreaterThan(0);
  });

  test("deploys: the program, its stack files and this workflow on main; never the lab stack, tests or prose", () => {
    const paths = deploy.on.push.paths as string[];
    for (const f of ["index.ts", "components/worker.ts", "host-scripts/drain.sh", "config/schema.ts", "host/commands.ts", "plan/planner.ts", "cli/plan.ts", "Pulumi.yaml", "Pulumi.prod.yaml",
      "package.json", "package-lock.json", "tsconfig.json", "scripts/notify.mjs", FILES.deploy]) expect(triggers(paths, f), f).toBe(true);
    for (const f of ["Pulumi.lab.yaml", "test/unit/plan.test.ts", "lab/cli.ts", "README.md", FILES.preview]) expect(triggers(paths, f), f).toBe(false);
    expect(deploy.on.push.branches).toEqual(["main"]);
  });
});

describe("permissions, environments, secrets", () => {
  test("least permissions: read everywhere; only the pull-request comment job writes, pull-request comments only", () => {
    expect(preview.permissions).toEqual({ contents: "read" });
    expect(deploy.permissions).toEqual({ contents: "read" });
    for (const [wfName, wf] of Object.entries(WORKFLOWS)) {
      for (const [id, job] of jobsOf(wf)) {
        if (wfName === "preview" && id === "comment") expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        else expect(job.permissions, `${wfName}.${id}`).toBeUndefined();
      }
    }
  });

  test("previews: one per pull request, a new push cancels the old one", () => {
    expect(preview.concurrency).toEqual({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
  });

  test("deploys: one rollout at a time, never cancelled in the middle, after the saved preview, behind production", () => {
    const job = deploy.jobs.deploy;
    expect(deploy.concurrency).toBeUndefined();
    expect(job.concurrency).toEqual({ group: "zombie-fleet-prod", "cancel-in-progress": false });
    expect(job.needs).toEqual(["test", "plan", "preview"]);
    expect(text(FILES.deploy)).toMatch(/# Required reviewers are configured on this GitHub environment/);
    expect(text(FILES.deploy)).toMatch(/deployment branch rule allows main only/);
  });

  test("each job reads exactly its secrets, and every job that reads one runs in a GitHub environment", () => {
    const CI_JOIN = ["TAILSCALE_CI_OAUTH_CLIENT_ID", "TAILSCALE_CI_OAUTH_SECRET"];
    const expected: Record<string, { env?: string; secrets: string[] }> = {
      "preview.test": { secrets: [] },
      "preview.plan": { secrets: [] },
      "preview.preview": { env: "preview", secrets: SECRETS },
      "preview.comment": { secrets: [] },
      "deploy.test": { secrets: [] },
      "deploy.plan": { secrets: [] },
      "deploy.preview": { env: "production-preview", secrets: SECRETS },
      "deploy.deploy": { env: "production", secrets: [...SECRETS, ...CI_JOIN, "DEPLOY_WEBHOOK_URL"] },
    };
    const seen: string[] = [];
    for (const [wfName, wf] of Object.entries(WORKFLOWS)) {
      expect(JSON.stringify(wf.env ?? {})).not.toContain("secrets.");
      for (const [id, job] of jobsOf(wf)) {
        const key = `${wfName}.${id}`;
        seen.push(key);
        const read = [...JSON.stringify(job).matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]);
        expect([...new Set(read)].sort(), key).toEqual([...expected[key].secrets].sort());
        expect(job.environment, key).toBe(expected[key].env);
      }
    }
    expect(seen.sort()).toEqual(Object.keys(expected).sort());
  });

  test("secrets reach only the step that runs pulumi, as its env, and the tailnet join, as its inputs", () => {
    for (const [wfName, wf] of Object.entries(WORKFLOWS)) {
      for (const { job, step } of stepsOf(wf)) {
        const where = `${wfName}.${job}: ${step.name ?? step.uses ?? step.run}`;
        if (!JSON.stringify(step).includes("secrets.")) continue;
        const { env, with: inputs, ...rest } = step;
        expect(JSON.stringify(rest), where).not.toContain("secrets.");
        if (isTailnetJoin(step)) expect(JSON.stringify(env ?? {}), where).not.toContain("secrets.");
        else {
          expect(/\bpulumi (preview|up)\b/.test(step.run ?? ""), where).toBe(true);
          expect(JSON.stringify(inputs ?? {}), where).not.toContain("secrets.");
          for (const [name, value] of Object.entries(env as Record<string, string>)) {
            if (String(value).includes("secrets.")) expect(value, where).toMatch(/^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/);
            if (name !== "ZF_WEBHOOK_URL" && String(value).includes("secrets.")) expect(value).toBe(`\${{ secrets.${name} }}`);
          }
        }
      }
    }
  });

  test("forks and Dependabot: no secrets, so no preview; the plan and tests run for everyone; forks get no comment", () => {
    expect(preview.jobs.preview.if).toContain(FORK_GUARD);
    expect(preview.jobs.preview.if).toContain("github.actor != 'dependabot[bot]'");
    expect(preview.jobs.comment.if).toContain(FORK_GUARD);
    expect(preview.jobs.comment.if).not.toContain("dependabot");
    for (const id of ["test", "plan"]) expect(preview.jobs[id].if).toBeUndefined();
    expect(preview.on.pull_request_target).toBeUndefined();
  });
});

describe("steps", () => {
  test("every action is pinned to a major version or a commit", () => {
    for (const { step } of [...stepsOf(preview), ...stepsOf(deploy)]) {
      if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/);
    }
  });

  test("the Pulumi CLI of every workflow is exactly the @pulumi/pulumi of package.json", () => {
    const sdk = (JSON.parse(text("package.json")) as Raw).dependencies["@pulumi/pulumi"] as string;
    expect(sdk).toMatch(/^\d+\.\d+\.\d+$/);
    const installs = [...stepsOf(preview), ...stepsOf(deploy)].filter(({ step }) => /^pulumi\/actions@/.test(step.uses ?? ""));
    expect(installs.length).toBe(3);
    for (const { step } of installs) {
      expect(step.with).toEqual({ "pulumi-version": sdk }); // and no command: pulumi runs in our own steps
    }
  });

  test("Node 22 or 24 with the npm cache, npm ci and npm test, in every workflow; every job has a timeout", () => {
    for (const wf of Object.values(WORKFLOWS)) {
      const steps = stepsOf(wf).map(({ step }) => step);
      const setups = steps.filter((x) => /^actions\/setup-node@/.test(x.uses ?? ""));
      expect(setups.length).toBeGreaterThan(0);
      for (const s of setups) {
        expect([22, 24]).toContain(s.with["node-version"]);
        expect(s.with.cache).toBe("npm");
      }
      expect(steps.some((s) => /^npm ci\b/.test(s.run ?? ""))).toBe(true);
      expect(wf.jobs.test.steps.some((s: Raw) => s.run === "npm test")).toBe(true);
      for (const [, job] of jobsOf(wf)) expect(job["timeout-minutes"]).toBeGreaterThan(0);
    }
  });

  test("one `pulumi up` in both workflows, within the plan the approved preview saved", () => {
    const ups = [...stepsOf(preview), ...stepsOf(deploy)].filter(({ step }) => /\bpulumi up\b/.test(step.run ?? ""));
    expect(ups.map(({ job }) => job)).toEqual(["deploy"]);
    const up = ups[0].step.run as string;
    expect(up.match(/\bpulumi up\b/g)).toHaveLength(1);
    const planFile = /--plan (\S+)/.exec(up)![1];
    const save = namedStep(deploy, "preview", /--save-plan/);
    expect(save.run).toContain(`--save-plan ${planFile}`);
    expect(save.run).not.toContain("--show-secrets"); // the saved plan keeps secrets as ciphertext
    const upload = deploy.jobs.preview.steps.find((s: Raw) => /upload-artifact/.test(s.uses ?? ""));
    const download = deploy.jobs.deploy.steps.find((s: Raw) => /download-artifact/.test(s.uses ?? ""));
    expect(upload.with.path).toBe(planFile);
    expect(download.with.name).toBe(upload.with.name);
    expect(path.join(download.with.path, path.basename(planFile))).toBe(planFile);
    expect(up).toMatch(/pulumi up --yes --stack prod\b/);
    // Wave-mates of a failed host finish their chains (the lab shows what the engine does without it).
    expect(up).toMatch(/pulumi up [^\n]*--continue-on-error/);
  });

  test("the rollout runner joins the tailnet first: Tailscale's action, an OAuth client, tag:ci; previews do not", () => {
    const steps = deploy.jobs.deploy.steps as Raw[];
    const join = steps.findIndex(isTailnetJoin);
    expect(join).toBeGreaterThan(-1);
    expect(steps[join].uses).toMatch(/^tailscale\/github-action@[0-9a-f]{40}$/);
    expect(steps[join].with).toEqual({
      "oauth-client-id": "${{ secrets.TAILSCALE_CI_OAUTH_CLIENT_ID }}",
      "oauth-secret": "${{ secrets.TAILSCALE_CI_OAUTH_SECRET }}",
      tags: "tag:ci",
    });
    expect(join).toBeLessThan(steps.findIndex((s) => /\bpulumi up\b/.test(s.run ?? "")));
    for (const [wfName, wf] of Object.entries(WORKFLOWS)) {
      for (const { job, step } of stepsOf(wf)) if (isTailnetJoin(step)) expect(`${wfName}.${job}`).toBe("deploy.deploy");
    }
  });

  test("the deploy timeout is above the worst case of the committed prod plan, within GitHub's limit", () => {
    const report = buildReport("prod", "Pulumi.prod.yaml", loadStackFile(path.join(ROOT, "Pulumi.prod.yaml")));
    const timeout = deploy.jobs.deploy["timeout-minutes"] as number;
    expect(timeout * 60, `worst case ${report.estimate.worstCaseSeconds} s + ${SETUP_MARGIN_MINUTES} min setup`)
      .toBeGreaterThanOrEqual(report.estimate.worstCaseSeconds + SETUP_MARGIN_MINUTES * 60);
    expect(timeout).toBeLessThanOrEqual(GITHUB_JOB_LIMIT_MINUTES);
  });

  test("the deploy timeout is the one the plan warns against, for every stack", () => {
    expect(deploy.jobs.deploy["timeout-minutes"]).toBe(DEPLOY_JOB_TIMEOUT_MINUTES);
  });
});

describe("the plan steps, run for real in a throwaway repository", () => {
  const repo = path.join(tmp, "repo");
  const git = (...args: string[]) => execFileSync("git", args, {
    cwd: repo, encoding: "utf8",
    env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" },
  }).trim();
  fs.mkdirSync(repo);
  for (const item of ["package.json", "tsconfig.json", "cli", "config", "host", "host-scripts", "plan", "components", "Pulumi.prod.yaml", "Pulumi.lab.yaml"]) {
    fs.cpSync(path.join(ROOT, item), path.join(repo, item), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(repo, "node_modules"));
  fs.writeFileSync(path.join(repo, ".gitignore"), "node_modules\nrollout-plan/\nplan.txt\n");
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-q", "-m", "base");
  const baseSha = git("rev-parse", "HEAD");
  const prod = fs.readFileSync(path.join(repo, "Pulumi.prod.yaml"), "utf8");
  fs.writeFileSync(path.join(repo, "Pulumi.prod.yaml"), prod.replace("    version: v0.9.4", "    version: v0.9.5"));
  fs.writeFileSync(path.join(repo, "Pulumi.edge.yaml"), prod.replace(/zombie-prod-worker-/g, "zombie-edge-worker-"));
  fs.appendFileSync(path.join(repo, "Pulumi.lab.yaml"), "# edited by a lab rehearsal\n");
  fs.appendFileSync(path.join(repo, "host-scripts", "verify.sh"), "# a scripts change\n");
  git("add", ".");
  git("commit", "-q", "-m", "head");

  test("preview: every deployable stack file, compared with the base commit's file and program, named at the top", () => {
    const run = runStep(repo, namedStep(preview, "plan", /^Plan every deployable stack file/), { BASE_SHA: baseSha });
    expect(run.stderr + run.stdout).toBe("");
    expect(run.status).toBe(0);
    const markdown = fs.readFileSync(path.join(repo, "rollout-plan", "plan.md"), "utf8");
    expect(run.summary).toBe(markdown);
    const short = baseSha.slice(0, 12);
    expect(markdown.split("\n")[0]).toBe(`Planned stack files: \`Pulumi.edge.yaml\` \`Pulumi.prod.yaml\` (against the base commit \`${short}\`).`);
    expect(markdown).toContain("## Rollout plan: stack `prod`, release `v0.9.5`");
    expect(markdown).toContain(`### Why each worker is in the rollout (compared with \`${short}:Pulumi.prod.yaml\`)`);
    expect(markdown).toMatch(/^\| `zombie-prod-worker-ant` \| wave 0 \(canary\) \| release change, program change \| release\.version v0\.9\.4 → v0\.9\.5/m);
    expect(markdown).toContain("the rollout step scripts changed");
    expect(markdown).toContain("_`Pulumi.edge.yaml` is new in this pull request: every worker in it is a new host._");
    expect(markdown).toMatch(/## Rollout plan: stack `edge`[^]*### Why each worker is in the rollout\n\n_reasons need a base/);
    expect(markdown).not.toContain("stack `lab`");
  });

  test("deploy: the text plan against the commit before the push (stack file and program), in the summary", () => {
    const step = namedStep(deploy, "plan", /summary/);
    const run = runStep(repo, step, { BEFORE: baseSha });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.summary).toMatch(/^## Rollout plan of stack prod\n\n```text\nRollout plan for stack prod \(Pulumi\.prod\.yaml\)\n/);
    expect(run.summary).toContain(`Why each worker is in the rollout (compared with ${baseSha.slice(0, 12)}:Pulumi.prod.yaml)`);
    expect(run.summary).toMatch(/zombie-prod-worker-bird +wave 1 +release change, program change/);
    const first = runStep(repo, step, { BEFORE: "0000000000000000000000000000000000000000" });
    expect(first.status).toBe(0);
    expect(first.summary).toContain("Why each worker is in the rollout: reasons need a base");
  });
});

describe("the pulumi steps, run with a stand-in pulumi", () => {
  const dir = path.join(tmp, "pulumi-steps");
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.cpSync(path.join(ROOT, "scripts"), path.join(dir, "scripts"), { recursive: true });
  /** A `pulumi` that prints PULUMI_SAYS, records its argv and exits PULUMI_EXIT. */
  fs.writeFileSync(path.join(bin, "pulumi"), '#!/bin/sh\nprintf "%s\\n" "$*" > "$PWD/argv.txt"\nprintf "%b" "$PULUMI_SAYS"\nexit "$PULUMI_EXIT"\n', { mode: 0o755 });
  const env = (says: string, exit: number) => ({ PATH: `${bin}:${process.env.PATH}`, PULUMI_SAYS: says, PULUMI_EXIT: String(exit) });

  test("a failing PR preview keeps its error for the comment, and fails the job", () => {
    const run = runStep(dir, namedStep(preview, "preview", /^pulumi preview/), env("error: configuring provider ovh: 403 Forbidden\\n", 255));
    expect(run.status).toBe(255);
    expect(fs.readFileSync(path.join(dir, "preview", "preview.txt"), "utf8")).toBe("error: configuring provider ovh: 403 Forbidden\n");
    expect(fs.readFileSync(path.join(dir, "preview", "status"), "utf8")).toBe("255\n");
  });

  test("the rollout: start, the halted step and the end reach the webhook; pulumi's exit status is the step's", async () => {
    const { url, received, close } = await recordingServer();
    try {
      fs.mkdirSync(path.join(dir, "preview"), { recursive: true });
      const step = namedStep(deploy, "deploy", /^pulumi up/);
      const says = "Updating (prod):\\nstep=drain host=w1 status=fail reason=\"drain deadline passed\"\\nerror: update failed\\n";
      const run = await runStepAsync(dir, step, { ...env(says, 1), ZF_WEBHOOK_URL: url, ZF_STACK: "prod" });
      expect(run.status).toBe(1);
      expect(run.stdout).toContain("step=drain host=w1 status=fail");
      expect(fs.readFileSync(path.join(dir, "argv.txt"), "utf8").trim()).toBe(
        "up --yes --stack prod --continue-on-error --suppress-progress --color never --plan preview/prod.plan.json");
      expect(received.map((b) => b.text)).toEqual([
        "Rollout of stack prod started",
        "Rollout halted at drain on w1: drain deadline passed",
        "Rollout of stack prod FAILED (pulumi up exited 1): 0 steps ok, 0 skipped, 1 failed",
      ]);
    } finally {
      await close();
    }
  });
});

describe("the pull-request comment", () => {
  const step = namedStep(preview, "comment", /comment/);
  const dir = path.join(tmp, "comment");
  const write = (file: string, body: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), body);
  };
  write("rollout-plan/plan.md", "Planned stack files: `Pulumi.prod.yaml`\n## Rollout plan: stack `prod`, release `v0.9.5`\n");

  function fakeGitHub(existing: Raw[]) {
    const calls: { op: string; args: Raw }[] = [];
    const comments = [...existing];
    const github = {
      paginate: async (_fn: unknown, _args: Raw) => comments,
      rest: {
        issues: {
          listComments: async () => ({ data: comments }),
          createComment: async (args: Raw) => { calls.push({ op: "create", args }); comments.push({ id: 99, user: { type: "Bot" }, body: args.body }); },
          updateComment: async (args: Raw) => { calls.push({ op: "update", args }); },
        },
      },
    };
    return { github, calls, comments };
  }

  async function runScript(github: unknown, sha: string, env: Record<string, string>) {
    const context = {
      serverUrl: "https://github.example", runId: 7, repo: { owner: "o", repo: "zombie-fleet" },
      payload: { pull_request: { number: 12, head: { sha } } },
    };
    const fakeRequire = (name: string) => (name === "fs" ? {
      existsSync: (p: string) => fs.existsSync(path.join(dir, p)),
      readFileSync: (p: string, enc: BufferEncoding) => fs.readFileSync(path.join(dir, p), enc),
    } : createRequire(__filename)(name));
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    try {
      const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
      await new AsyncFunction("require", "github", "context", step.with.script)(fakeRequire, github, context);
    } finally {
      vi.unstubAllEnvs();
    }
  }

  const ok = { PREVIEW_RESULT: "success", BY_DEPENDABOT: "false" };

  test("is created once, then edited on every new push, next to other people's comments", async () => {
    write("preview/preview.txt", "Previewing update (prod):\n  ~ 3 to update\n");
    write("preview/status", "0\n");
    const human = { id: 1, user: { type: "User" }, body: "<!-- zombie-fleet:preview --> quoted by a human" };
    const { github, calls } = fakeGitHub([human]);
    await runScript(github, "a".repeat(40), ok);
    await runScript(github, "b".repeat(40), ok);
    expect(calls.map((c) => c.op)).toEqual(["create", "update"]);
    expect(calls[1].args).toMatchObject({ owner: "o", repo: "zombie-fleet", comment_id: 99 });
    const body = calls[1].args.body as string;
    expect(body.startsWith("<!-- zombie-fleet:preview -->\n## zombie-fleet preview of bbbbbbb")).toBe(true);
    expect(body).toContain("Planned stack files: `Pulumi.prod.yaml`");
    expect(body).toContain("### `pulumi preview --diff` of stack prod: success");
    expect(body).toContain("~ 3 to update");
  });

  test("a failed preview shows its error", async () => {
    write("preview/preview.txt", "error: configuring provider ovh: 403 Forbidden\n");
    write("preview/status", "255\n");
    const { github, calls } = fakeGitHub([]);
    await runScript(github, "d".repeat(40), { PREVIEW_RESULT: "failure", BY_DEPENDABOT: "false" });
    const body = calls[0].args.body as string;
    expect(body).toContain("### `pulumi preview --diff` of stack prod: failed (exit 255)");
    expect(body).toContain("error: configuring provider ovh: 403 Forbidden");
  });

  test("Dependabot: the plan, and why there is no preview", async () => {
    fs.rmSync(path.join(dir, "preview"), { recursive: true, force: true });
    const { github, calls } = fakeGitHub([]);
    await runScript(github, "e".repeat(40), { PREVIEW_RESULT: "skipped", BY_DEPENDABOT: "true" });
    const body = calls[0].args.body as string;
    expect(body).toContain("## Rollout plan: stack `prod`");
    expect(body).toContain("### `pulumi preview --diff` of stack prod: not run");
    expect(body).toContain("GitHub gives runs that Dependabot triggered no secrets");
  });

  test("a preview that never ran pulumi (not approved, cancelled setup) says so", async () => {
    const { github, calls } = fakeGitHub([]);
    await runScript(github, "f".repeat(40), { PREVIEW_RESULT: "failure", BY_DEPENDABOT: "false" });
    expect(calls[0].args.body).toContain('No preview output: the preview job ended as "failure" before pulumi ran');
  });

  test("stays under GitHub's 65,536 characters however long the plan and preview are", async () => {
    write("rollout-plan/plan.md", "| row |\n".repeat(20_000));
    write("preview/preview.txt", "~ update\n".repeat(20_000));
    write("preview/status", "0\n");
    const { github, calls } = fakeGitHub([]);
    await runScript(github, "c".repeat(40), ok);
    expect((calls[0].args.body as string).length).toBeLessThan(65_536);
    expect(calls[0].args.body).toContain("… cut here; the whole plan is in [the run]");
  });
});
