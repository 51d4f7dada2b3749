#!/usr/bin/env node
// Rollout notifications for the deploy workflow: posts the start, each halted step (host, step, reason), each
// auto-revert and the end of a rollout to a chat webhook, when ZF_WEBHOOK_URL is set (else it posts nothing).
//
//   node scripts/notify.mjs start
//   pulumi up … 2>&1 | node scripts/notify.mjs follow --summary FILE   (copies its input to stdout unchanged)
//   node scripts/notify.mjs end --exit-code N [--summary FILE]
//
// The payload is `{"text": …, "content": …}`: Slack incoming webhooks read `text`, Discord webhooks `content`.
// Only the fields below are taken from the step status lines (`step=<name> host=<host> status=ok|skip|fail …`,
// host-scripts/lib.sh zf_status), and no other line of the output is ever posted: the scripts print no
// secret in those fields, and whatever else pulumi prints stays in the log. The webhook URL (a secret: it is the
// credential) is never printed. A webhook that fails never fails the rollout: a warning on stderr, exit 0.
import * as fs from "node:fs";
import * as readline from "node:readline";

const POSTED_FIELDS = ["version", "expected", "reverted_to", "revert_healthy", "reason"];
/** Discord refuses content above 2000 characters. */
const MAX_TEXT = 1900;
const POST_TIMEOUT_MS = 10_000;

/** `step=drain host=a status=fail reason="x y"` anywhere in a line → its fields; null when it holds none. */
export function parseStatusLine(line) {
  const start = line.search(/\bstep=\S+ host=\S+ status=(ok|skip|fail)\b/);
  if (start < 0) return null;
  const fields = {};
  for (const m of line.slice(start).matchAll(/([a-z_]+)=("((?:[^"\\]|\\.)*)"|\S*)/g)) {
    fields[m[1]] = m[3] !== undefined ? m[3] : m[2];
  }
  return fields;
}

/** The message for one status line, or null when it is not worth a post (ok, skip). */
export function messageFor(fields) {
  if (fields.status !== "fail") return null;
  const extra = POSTED_FIELDS.filter((k) => k !== "reason" && fields[k] !== undefined).map((k) => `${k}=${fields[k]}`);
  const reason = fields.reason ? `: ${fields.reason}` : "";
  const reverted = fields.reverted_to && fields.reverted_to !== "none";
  const head = reverted
    ? `Auto-revert on ${fields.host}: ${fields.step} failed, switched back to ${fields.reverted_to} (healthy: ${fields.revert_healthy ?? "unknown"})`
    : `Rollout halted at ${fields.step} on ${fields.host}`;
  return `${head}${reason}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

function runLink(env) {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
  return server && repo && run ? `${server}/${repo}/actions/runs/${run}` : "";
}

function describeRun(env) {
  const stack = env.ZF_STACK || "prod";
  const sha = env.GITHUB_SHA ? ` at ${env.GITHUB_SHA.slice(0, 7)}` : "";
  const link = runLink(env);
  return { stack, where: `${sha}${link ? ` (${link})` : ""}` };
}

export function payload(text) {
  const cut = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
  return { text: cut, content: cut };
}

/** Posts one message; never throws, never prints the URL. */
export async function post(url, text, log = (m) => process.stderr.write(m)) {
  if (!url) return false;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload(text)),
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    if (!res.ok) log(`notify: the webhook answered HTTP ${res.status}; the rollout goes on\n`);
    return res.ok;
  } catch (err) {
    log(`notify: the webhook could not be reached (${err?.name ?? "error"}); the rollout goes on\n`);
    return false;
  }
}

function option(argv, name) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function follow(url, summaryFile, input, output) {
  const seen = new Set();
  const counts = { ok: 0, skip: 0, fail: 0, reverted: 0 };
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) {
    output.write(`${line}\n`);
    const fields = parseStatusLine(line);
    if (!fields) continue;
    // pulumi shows a resource's output live and again in its diagnostics: count and post each line once.
    const key = JSON.stringify(fields);
    if (seen.has(key)) continue;
    seen.add(key);
    counts[fields.status] += 1;
    if (fields.reverted_to && fields.reverted_to !== "none") counts.reverted += 1;
    const text = messageFor(fields);
    if (text) await post(url, text);
  }
  if (summaryFile) fs.writeFileSync(summaryFile, JSON.stringify(counts));
}

function endText(env, exitCode, summaryFile) {
  const { stack, where } = describeRun(env);
  let counts = null;
  if (summaryFile && fs.existsSync(summaryFile)) counts = JSON.parse(fs.readFileSync(summaryFile, "utf8"));
  const tally = counts
    ? `: ${counts.ok} steps ok, ${counts.skip} skipped, ${counts.fail} failed${counts.reverted ? `, ${counts.reverted} auto-reverted` : ""}`
    : "";
  const outcome = exitCode === "0" ? "finished" : `FAILED (pulumi up exited ${exitCode})`;
  return `Rollout of stack ${stack}${where} ${outcome}${tally}`;
}

export async function main(argv, env = process.env, io = { input: process.stdin, output: process.stdout }) {
  const [mode, ...rest] = argv;
  const url = env.ZF_WEBHOOK_URL || "";
  switch (mode) {
    case "start": {
      const { stack, where } = describeRun(env);
      await post(url, `Rollout of stack ${stack}${where} started`);
      return 0;
    }
    case "follow":
      await follow(url, option(rest, "--summary"), io.input, io.output);
      return 0;
    case "end": {
      const code = option(rest, "--exit-code");
      if (!/^\d+$/.test(code ?? "")) {
        process.stderr.write("notify: end needs --exit-code N (the exit status of pulumi up)\n");
        return 2;
      }
      await post(url, endText(env, code, option(rest, "--summary")));
      return 0;
    }
    default:
      process.stderr.write("usage: notify.mjs start | follow [--summary FILE] | end --exit-code N [--summary FILE]\n");
      return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
