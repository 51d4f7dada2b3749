// scripts/notify.mjs, the deploy workflow's webhook notifications, run as the workflow runs it (a child process fed
// the `pulumi up` output) against a local HTTP server on 127.0.0.1 that records every payload.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";

const SCRIPT = path.join(__dirname, "..", "..", "scripts", "notify.mjs");
const TOKEN = "T0KEN-MARKER-5e1f"; // the webhook URL is the credential: it must never be printed or posted
const SECRET = "hunter2-MARKER-9ab0";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zf-notify-"));

let server: http.Server;
let base = "";
let received: { path: string; type: string; body: Record<string, string> }[] = [];
let answer = 204;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c) => { data += c; });
    req.on("end", () => {
      received.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body: JSON.parse(data) });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => { received = []; answer = 204; });

function notify(args: string[], env: Record<string, string>, input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      env: { PATH: process.env.PATH ?? "", GITHUB_SERVER_URL: "https://github.example", GITHUB_REPOSITORY: "o/zombie-fleet", GITHUB_RUN_ID: "77", GITHUB_SHA: "abcdef1234567890", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => { stdout += c; });
    child.stderr.on("data", (c) => { stderr += c; });
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

// What `pulumi up` prints around the status lines: resource rows, a diff with a secret, and each command's output
// again in the diagnostics at the end.
const UP_OUTPUT = [
  "Updating (prod):",
  "    command:remote:Command zombie-prod-worker-ant-drain  creating (0s)",
  "    command:remote:Command zombie-prod-worker-ant-drain  step=drain host=zombie-prod-worker-ant status=ok drain=complete elapsed=41",
  `  ~ stdin: [secret] DATABASE_URL=${SECRET}`,
  "    command:remote:Command zombie-prod-worker-ant-stop  step=stop host=zombie-prod-worker-ant status=skip was=inactive/dead",
  "    command:remote:Command zombie-prod-worker-ant-verify  step=verify host=zombie-prod-worker-ant status=fail version=v0.9.5 reverted_to=v0.9.4 revert_healthy=true reason=\"doctor failed: exit 3\"",
  "    command:remote:Command zombie-prod-worker-bird-drain  step=drain host=zombie-prod-worker-bird status=fail drain=deadline elapsed=600 reason=\"drain deadline passed with 2 active runs\"",
  "Diagnostics:",
  "  command:remote:Command (zombie-prod-worker-ant-verify):",
  "    step=verify host=zombie-prod-worker-ant status=fail version=v0.9.5 reverted_to=v0.9.4 revert_healthy=true reason=\"doctor failed: exit 3\"",
  `    error: Process exited with status 1 (token ${SECRET})`,
].join("\n") + "\n";

describe("with a webhook", () => {
  const url = () => `${base}/hooks/${TOKEN}`;

  test("start, each halted step and auto-revert once, and the end with the tally: Slack and Discord fields", async () => {
    const summary = path.join(tmp, "summary.json");
    const start = await notify(["start"], { ZF_WEBHOOK_URL: url() });
    const follow = await notify(["follow", "--summary", summary], { ZF_WEBHOOK_URL: url() }, UP_OUTPUT);
    const end = await notify(["end", "--exit-code", "1", "--summary", summary], { ZF_WEBHOOK_URL: url() });
    for (const run of [start, follow, end]) {
      expect(run.code).toBe(0);
      expect(run.stderr).toBe("");
    }
    expect(follow.stdout).toBe(UP_OUTPUT); // the log keeps everything pulumi printed
    const texts = received.map((r) => r.body.text);
    expect(texts).toEqual([
      "Rollout of stack prod at abcdef1 (https://github.example/o/zombie-fleet/actions/runs/77) started",
      "Auto-revert on zombie-prod-worker-ant: verify failed, switched back to v0.9.4 (healthy: true): doctor failed: exit 3 (version=v0.9.5, reverted_to=v0.9.4, revert_healthy=true)",
      "Rollout halted at drain on zombie-prod-worker-bird: drain deadline passed with 2 active runs",
      "Rollout of stack prod at abcdef1 (https://github.example/o/zombie-fleet/actions/runs/77) FAILED (pulumi up exited 1): 1 steps ok, 1 skipped, 2 failed, 1 auto-reverted",
    ]);
    for (const r of received) {
      expect(r.body).toEqual({ text: r.body.text, content: r.body.text });
      expect(r.type).toBe("application/json");
      expect(r.path).toBe(`/hooks/${TOKEN}`);
      expect(JSON.stringify(r.body)).not.toContain(SECRET);
      expect(JSON.stringify(r.body)).not.toContain(TOKEN);
    }
  });

  test("a webhook that fails or is gone never fails the rollout and never prints its URL", async () => {
    answer = 500;
    const failing = await notify(["start"], { ZF_WEBHOOK_URL: url() });
    expect(failing.code).toBe(0);
    expect(failing.stderr).toBe("notify: the webhook answered HTTP 500; the rollout goes on\n");
    const closed = `http://127.0.0.1:1/hooks/${TOKEN}`; // port 1: nothing listens there
    const gone = await notify(["follow"], { ZF_WEBHOOK_URL: closed }, UP_OUTPUT);
    expect(gone.code).toBe(0);
    expect(gone.stdout).toBe(UP_OUTPUT);
    expect(gone.stderr).toMatch(/^(notify: the webhook could not be reached \(\w+\); the rollout goes on\n)+$/);
    expect(gone.stderr + failing.stderr).not.toContain(TOKEN);
  });

  test("a long reason is cut below Discord's 2000 characters", async () => {
    const line = `step=verify host=h status=fail reason="${"x".repeat(5000)}"\n`;
    await notify(["follow"], { ZF_WEBHOOK_URL: url() }, line);
    expect(received).toHaveLength(1);
    expect(received[0].body.content.length).toBeLessThan(2000);
  });
});

test("without a webhook: nothing is posted, the output still goes through", async () => {
  const follow = await notify(["follow"], {}, UP_OUTPUT);
  const end = await notify(["end", "--exit-code", "0"], {});
  expect(follow.stdout).toBe(UP_OUTPUT);
  expect([follow.code, end.code]).toEqual([0, 0]);
  expect(received).toEqual([]);
});

test("bad usage exits 2", async () => {
  expect((await notify(["end"], {})).code).toBe(2);
  expect((await notify(["nope"], {})).code).toBe(2);
});
