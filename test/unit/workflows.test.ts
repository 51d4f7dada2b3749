// The GitHub workflows: schema-valid (@action-validator/core, the workflow schema compiled into the package, no
// network), the properties a deploy relies on (least permissions, which secrets each job reads and from which
// environment, no secrets for forks and Dependabot, the path filters, the tailnet join, one `pulumi up` within
// the saved preview, the pinned Pulumi CLI, one rollout at a time, a timeout above the plan's worst case). Their
// scripts, run for real: test/unit/workflows-run.test.ts.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, test, vi } from "vitest";
import { loadStackFile } from "../../config/load";
import { buildReport } from "../../plan/report";
import { Raw } from "./fleet-fixture";
import { DEPLOY_JOB_TIMEOUT_MINUTES, GITHUB_JOB_LIMIT_MINUTES } from "../../plan/budget";
import {
  FILES, FORK_GUARD, ROOT, SECRETS, SETUP_MARGIN_MINUTES, WORKFLOWS, deploy, glob, isTailnetJoin, jobsOf, namedStep,
  preview, stepsOf, text, triggers,
} from "./workflow-fixture";

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
