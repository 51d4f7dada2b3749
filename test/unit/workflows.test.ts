// The GitHub workflows: schema-valid (@action-validator/core, the workflow schema compiled into the package, no
// network), the properties a deploy relies on (least permissions, one rollout at a time, the production
// environment, no secrets for forks, a timeout above the plan's worst case), and their scripts run for real: the
// plan step in a throwaway git repository, the comment script against a fake GitHub.
import { DEPLOY_JOB_TIMEOUT_MINUTES, DEPLOY_SETUP_MINUTES, GITHUB_JOB_LIMIT_MINUTES } from "../../components/budget";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { afterAll, describe, expect, test, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadStackFile } from "../../components/config-load";
import { buildReport } from "../../components/plan-report";
import { Raw } from "./fleet-fixture";

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
const isPulumiStep = (step: Raw) => /^pulumi\/actions@/.test(step.uses ?? "") || /^pulumi /.test(step.run ?? "");
const namedStep = (wf: Raw, job: string, name: RegExp) => (wf.jobs[job].steps as Raw[]).find((s) => name.test(s.name ?? ""))!;

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
  // GitHub's filter globs: `**` any path, `*` anything but `/`.
  const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\u0000/g, ".*")}$`);

  test.each([["preview", preview.on.pull_request.paths], ["deploy", deploy.on.push.paths]] as [string, string[]][])(
    "%s: every paths pattern matches a file of this repository", (_name, paths) => {
      for (const pattern of paths) {
        expect(repoFiles.some((f) => glob(pattern.replace(/^!/, "")).test(f)), pattern).toBe(true);
      }
    });

  test("both run for the program and every stack file; deploy leaves out the lab stack, and only on main", () => {
    const program = ["index.ts", "components/**", "cli/**", "Pulumi.yaml", "Pulumi.*.yaml", "package.json", "package-lock.json"];
    expect(preview.on.pull_request.paths).toEqual(expect.arrayContaining([...program, FILES.preview]));
    expect(deploy.on.push.paths).toEqual(expect.arrayContaining([...program, FILES.deploy, "!Pulumi.lab.yaml"]));
    expect(deploy.on.push.paths.indexOf("!Pulumi.lab.yaml")).toBeGreaterThan(deploy.on.push.paths.indexOf("Pulumi.*.yaml"));
    expect(deploy.on.push.branches).toEqual(["main"]);
  });
});

describe("permissions, concurrency, environment, secrets", () => {
  test("least permissions: read everywhere; only the preview job writes, and only pull requests", () => {
    expect(preview.permissions).toEqual({ contents: "read" });
    expect(deploy.permissions).toEqual({ contents: "read" });
    for (const [wfName, wf] of Object.entries(WORKFLOWS)) {
      for (const [id, job] of jobsOf(wf)) {
        if (wfName === "preview" && id === "preview") expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        else expect(job.permissions, `${wfName}.${id}`).toBeUndefined();
      }
    }
  });

  test("previews: one per pull request, a new push cancels the old one", () => {
    expect(preview.concurrency).toEqual({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
  });

  test("deploys: one rollout at a time, never cancelled in the middle, behind the production environment", () => {
    const job = deploy.jobs.deploy;
    expect(deploy.concurrency).toBeUndefined();
    expect(job.concurrency).toEqual({ group: "zombie-fleet-prod", "cancel-in-progress": false });
    expect(job.environment).toBe("production");
    expect(job.needs).toEqual(["test", "plan"]);
    expect(text(FILES.deploy)).toMatch(/# Required reviewers are configured on this GitHub environment/);
    for (const [wfName, wf] of Object.entries(WORKFLOWS)) {
      for (const [id, j] of jobsOf(wf)) if (!(wfName === "deploy" && id === "deploy")) expect(j.environment).toBeUndefined();
    }
  });

  test("forks: the preview job alone needs secrets and is guarded; tests and plan run for everyone", () => {
    expect(preview.jobs.preview.if).toContain(FORK_GUARD);
    for (const id of ["test", "plan"]) expect(preview.jobs[id].if).toBeUndefined();
    expect(preview.on.pull_request_target).toBeUndefined();
  });

  test("secrets are the env of the pulumi steps only, all of them, nowhere else", () => {
    const withSecrets = [namedStep(preview, "preview", /^pulumi preview/), namedStep(deploy, "deploy", /^pulumi up/)];
    for (const step of withSecrets) {
      expect(isPulumiStep(step)).toBe(true);
      expect(Object.keys(step.env).sort()).toEqual([...SECRETS].sort());
      for (const name of SECRETS) expect(step.env[name]).toBe(`\${{ secrets.${name} }}`);
    }
    for (const [wfName, wf] of Object.entries(WORKFLOWS)) {
      for (const { job, step } of stepsOf(wf)) {
        const where = `${wfName}.${job}: ${step.name ?? step.uses ?? step.run}`;
        const { env, ...rest } = step;
        expect(JSON.stringify(rest), where).not.toContain("secrets.");
        if (!withSecrets.includes(step)) expect(JSON.stringify(env ?? {}), where).not.toContain("secrets.");
      }
      for (const [, job] of jobsOf(wf)) expect(JSON.stringify(job.env ?? {})).not.toContain("secrets.");
      expect(JSON.stringify(wf.env ?? {})).not.toContain("secrets.");
    }
  });
});

describe("steps", () => {
  test("every action is pinned to a major version or a commit; pulumi/actions is the official one", () => {
    for (const { step } of [...stepsOf(preview), ...stepsOf(deploy)]) {
      if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/);
    }
    const previewStep = namedStep(preview, "preview", /^pulumi preview/);
    expect(previewStep.uses).toMatch(/^pulumi\/actions@/);
    expect(previewStep.with).toMatchObject({ command: "preview", "stack-name": "prod", diff: true, "comment-on-pr": false });
  });

  test("Node 20, npm ci and npm test, in every workflow; every job has a timeout", () => {
    for (const wf of Object.values(WORKFLOWS)) {
      const steps = stepsOf(wf).map(({ step }) => step);
      for (const s of steps.filter((x) => /^actions\/setup-node@/.test(x.uses ?? ""))) expect(s.with["node-version"]).toBe(20);
      expect(steps.some((s) => /^npm ci\b/.test(s.run ?? ""))).toBe(true);
      expect(wf.jobs.test.steps.some((s: Raw) => s.run === "npm test")).toBe(true);
      for (const [, job] of jobsOf(wf)) expect(job["timeout-minutes"]).toBeGreaterThan(0);
    }
  });

  test("deploy runs `pulumi up --yes` of stack prod, after the plan went into the run's summary", () => {
    expect(namedStep(deploy, "deploy", /^pulumi up/).run).toMatch(/^pulumi up --yes --stack prod\b/);
    const planStep = namedStep(deploy, "plan", /summary/);
    expect(planStep.run).toContain("npm run -s plan -- \"${args[@]}\" > plan.txt");
    expect(planStep.run).toContain('>> "$GITHUB_STEP_SUMMARY"');
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
  for (const item of ["package.json", "tsconfig.json", "cli", "components", "Pulumi.prod.yaml", "Pulumi.lab.yaml"]) {
    fs.cpSync(path.join(ROOT, item), path.join(repo, item), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(repo, "node_modules"));
  fs.writeFileSync(path.join(repo, ".gitignore"), "node_modules\nplan/\nmain@*/\nplan.txt\n");
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-q", "-m", "base");
  const baseSha = git("rev-parse", "HEAD");
  const prod = fs.readFileSync(path.join(repo, "Pulumi.prod.yaml"), "utf8");
  fs.writeFileSync(path.join(repo, "Pulumi.prod.yaml"), prod.replace("    version: v0.9.4", "    version: v0.9.5"));
  fs.writeFileSync(path.join(repo, "Pulumi.edge.yaml"), prod.replace(/zombie-prod-worker-/g, "zombie-edge-worker-"));
  fs.appendFileSync(path.join(repo, "Pulumi.lab.yaml"), "# edited by a lab rehearsal\n");
  git("add", ".");
  git("commit", "-q", "-m", "head");

  function runStep(step: Raw, env: Record<string, string>) {
    const summary = path.join(tmp, `summary-${Math.random().toString(36).slice(2)}.md`);
    fs.writeFileSync(summary, "");
    const run = spawnSync("bash", ["-e", "-c", step.run], {
      cwd: repo, encoding: "utf8", env: { ...process.env, ...env, GITHUB_STEP_SUMMARY: summary, INIT_CWD: repo },
    });
    return { ...run, summary: fs.readFileSync(summary, "utf8") };
  }

  test("preview: a plan per changed stack file, with reasons against the base, in the summary and plan/plan.md", () => {
    const step = namedStep(preview, "plan", /^Plan each stack file/);
    const run = runStep(step, { BASE_SHA: baseSha, BASE_REF: "main" });
    expect(run.stderr + run.stdout).toBe("");
    expect(run.status).toBe(0);
    const markdown = fs.readFileSync(path.join(repo, "plan", "plan.md"), "utf8");
    expect(run.summary).toBe(markdown);
    expect(markdown).toContain("## Rollout plan: stack `prod`, release `v0.9.5`");
    expect(markdown).toContain(`### Why each worker is in the rollout (compared with \`main@${baseSha.slice(0, 7)}/Pulumi.prod.yaml\`)`);
    expect(markdown).toMatch(/^\| `zombie-prod-worker-ant` \| wave 0 \(canary\) \| release change \| release\.version v0\.9\.4 → v0\.9\.5 \|/m);
    expect(markdown).toContain("_`Pulumi.edge.yaml` is new in this pull request: every worker in it is a new host._");
    expect(markdown).toMatch(/## Rollout plan: stack `edge`[^]*### Why each worker is in the rollout\n\n_reasons need a base/);
    expect(markdown).not.toContain("stack `lab`");
  });

  test("deploy: the text plan with reasons against the commit before the push, in the summary", () => {
    const step = namedStep(deploy, "plan", /summary/);
    const run = runStep(step, { BEFORE: baseSha });
    expect(run.status).toBe(0);
    expect(run.summary).toMatch(/^## Rollout plan of stack prod\n\n```text\nRollout plan for stack prod \(Pulumi\.prod\.yaml\)\n/);
    expect(run.summary).toContain(`Why each worker is in the rollout (compared with main@${baseSha.slice(0, 7)}/Pulumi.prod.yaml)`);
    const first = runStep(step, { BEFORE: "0000000000000000000000000000000000000000" });
    expect(first.status).toBe(0);
    expect(first.summary).toContain("Why each worker is in the rollout: reasons need a base");
  });
});

describe("the pull-request comment", () => {
  const step = namedStep(preview, "preview", /comment/);
  const planDir = path.join(tmp, "comment");
  fs.mkdirSync(path.join(planDir, "plan"), { recursive: true });
  fs.writeFileSync(path.join(planDir, "plan", "plan.md"), "## Rollout plan: stack `prod`, release `v0.9.5`\n");

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

  async function runScript(github: unknown, sha: string) {
    const context = {
      serverUrl: "https://github.example", runId: 7, repo: { owner: "o", repo: "zombie-fleet" },
      payload: { pull_request: { number: 12, head: { sha } } },
    };
    const fakeRequire = (name: string) => (name === "fs" ? {
      existsSync: (p: string) => fs.existsSync(path.join(planDir, p)),
      readFileSync: (p: string, enc: BufferEncoding) => fs.readFileSync(path.join(planDir, p), enc),
    } : require(name));
    vi.stubEnv("PREVIEW_OUTPUT", "Previewing update (prod):\n  ~ 3 to update");
    vi.stubEnv("PREVIEW_OUTCOME", "success");
    try {
      const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
      await new AsyncFunction("require", "github", "context", step.with.script)(fakeRequire, github, context);
    } finally {
      vi.unstubAllEnvs();
    }
  }

  test("is created once, then edited on every new push, next to other people's comments", async () => {
    const human = { id: 1, user: { type: "User" }, body: "<!-- zombie-fleet:preview --> quoted by a human" };
    const { github, calls } = fakeGitHub([human]);
    await runScript(github, "a".repeat(40));
    await runScript(github, "b".repeat(40));
    expect(calls.map((c) => c.op)).toEqual(["create", "update"]);
    expect(calls[1].args).toMatchObject({ owner: "o", repo: "zombie-fleet", comment_id: 99 });
    const body = calls[1].args.body as string;
    expect(body.startsWith("<!-- zombie-fleet:preview -->\n## zombie-fleet preview of bbbbbbb")).toBe(true);
    expect(body).toContain("## Rollout plan: stack `prod`, release `v0.9.5`");
    expect(body).toContain("### `pulumi preview --diff` of stack prod: success");
    expect(body).toContain("~ 3 to update");
  });

  test("stays under GitHub's 65,536 characters however long the plan and preview are", async () => {
    fs.writeFileSync(path.join(planDir, "plan", "plan.md"), "| row |\n".repeat(20_000));
    const { github, calls } = fakeGitHub([]);
    await runScript(github, "c".repeat(40));
    expect((calls[0].args.body as string).length).toBeLessThan(65_536);
    expect(calls[0].args.body).toContain("… cut here; the whole plan is in [the run]");
  });
});
