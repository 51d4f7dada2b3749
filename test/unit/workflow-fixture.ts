// What the workflow tests share: the two workflows as parsed, and running a step's script as GitHub would.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";
import { parse as parseYaml } from "yaml";
import { DEPLOY_SETUP_MINUTES } from "../../plan/budget";
import { Raw } from "./fleet-fixture";

export const ROOT = path.join(__dirname, "..", "..");
export const FILES = { preview: ".github/workflows/preview.yml", deploy: ".github/workflows/deploy.yml" } as const;
export const text = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
export const preview = parseYaml(text(FILES.preview)) as Raw;
export const deploy = parseYaml(text(FILES.deploy)) as Raw;
export const WORKFLOWS = { preview, deploy };

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-workflows-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

export const SECRETS = [
  "PULUMI_ACCESS_TOKEN", "OVH_ENDPOINT", "OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY",
  "TAILSCALE_OAUTH_CLIENT_ID", "TAILSCALE_OAUTH_CLIENT_SECRET", "TAILSCALE_API_KEY", "TAILSCALE_TAILNET",
];
export const FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository";
export const SETUP_MARGIN_MINUTES = DEPLOY_SETUP_MINUTES;

export const jobsOf = (wf: Raw) => Object.entries(wf.jobs as Record<string, Raw>);
export const stepsOf = (wf: Raw) => jobsOf(wf).flatMap(([id, job]) => (job.steps as Raw[]).map((step) => ({ job: id, step })));
export const namedStep = (wf: Raw, job: string, name: RegExp) => (wf.jobs[job].steps as Raw[]).find((s) => name.test(s.name ?? ""))!;
export const isTailnetJoin = (step: Raw) => /^tailscale\/github-action@/.test(step.uses ?? "");

/** GitHub's filter globs: `**` any path, `*` anything but `/`. */
export const glob = (pattern: string) => new RegExp(`^${pattern.split("**")
  .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")).join(".*")}$`);
/** Whether a change to `file` runs a workflow with these `paths`: the last pattern that matches decides. */
export function triggers(paths: string[], file: string): boolean {
  let on = false;
  for (const p of paths) if (glob(p.replace(/^!/, "")).test(file)) on = !p.startsWith("!");
  return on;
}

/** Runs a step's script in `cwd` as GitHub's `shell: bash` does (bash -eo pipefail), with a step summary file. */
export function runStep(cwd: string, step: Raw, env: Record<string, string>) {
  const summary = path.join(tmp, `summary-${Math.random().toString(36).slice(2)}.md`);
  fs.writeFileSync(summary, "");
  const run = spawnSync("bash", ["-eo", "pipefail", "-c", step.run], {
    cwd, encoding: "utf8", env: { ...process.env, ...env, GITHUB_STEP_SUMMARY: summary, INIT_CWD: cwd },
  });
  return { ...run, summary: fs.readFileSync(summary, "utf8") };
}

/** runStep without blocking this process: a server in it must answer the step. */
export function runStepAsync(cwd: string, step: Raw, env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
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
export async function recordingServer() {
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

