// The GitHub workflows' scripts, run for real: the plan steps in a throwaway git repository, the pulumi steps
// with a stand-in `pulumi` and a local webhook server, the comment script against a fake GitHub (the workflows'
// properties: workflows.test.ts).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { describe, expect, test, vi } from "vitest";
import { Raw } from "./fleet-fixture";
import { ROOT, deploy, namedStep, preview, recordingServer, runStep, runStepAsync, tmp } from "./workflow-fixture";

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
