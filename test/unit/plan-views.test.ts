// The markdown (pull-request comment) and mermaid views through the real `npm run plan` entry point, on the
// committed Pulumi.prod.yaml and on a generated 20-worker stack with a base: every worker, every wave, the gates
// between them, and why each worker is in the rollout.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { REASONS, REMOVED } from "../../plan/diff";

const ROOT = path.join(__dirname, "..", "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-plan-views-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function plan(args: string[]): Promise<string> {
  const env = { ...process.env };
  delete env.INIT_CWD;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "cli", "plan.ts"), ...args],
      { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`plan ${args.join(" ")}: ${stderr}`)) : resolve(stdout)));
  });
}

interface Json {
  canary: string; waves: string[][]; gates: string[]; held: { name: string }[];
  policy: { canaryRuns: number }; reasons: { workers: Record<string, { reasons: string[] }>; removed: { name: string; reason: string }[] };
}

/** The mermaid block of a markdown plan. */
function mermaidBlock(markdown: string): string {
  const match = /```mermaid\n([^]*?)```/.exec(markdown);
  expect(match).not.toBeNull();
  return match![1];
}

// The flowchart subset the renderer writes; each line must be one of these, or GitHub may refuse the diagram.
const MERMAID_LINE = [
  /^flowchart TD$/, /^ {4}direction LR$/, /^ {2}end$/,
  /^ {2}subgraph [a-z][a-z0-9]*\["[^"]*"\]$/,
  /^ {2,4}[a-z][a-z0-9]*(\["[^"]*"\]|\{\{"[^"]*"\}\}|\(\["[^"]*"\]\))$/,
  /^ {2}[a-z][a-z0-9]* --> [a-z][a-z0-9]*$/,
];

/** Checks the diagram's grammar and that every edge joins declared ids; returns its edges. */
function checkMermaid(diagram: string): string[] {
  const lines = diagram.trimEnd().split("\n");
  for (const line of lines) expect(MERMAID_LINE.some((re) => re.test(line)), line).toBe(true);
  const ids = new Set(lines.flatMap((l) => /^\s*(?:subgraph )?([a-z][a-z0-9]*)[[{(]/.exec(l)?.[1] ?? []));
  const edges = lines.filter((l) => l.includes(" --> ")).map((l) => l.trim());
  for (const edge of edges) for (const id of edge.split(" --> ")) expect(ids.has(id), edge).toBe(true);
  expect(lines.filter((l) => l.trim().startsWith("subgraph")).length).toBe(lines.filter((l) => l.trim() === "end").length);
  return edges;
}

/** Every wave drawn, each followed by its gate, the gate leading to the next wave, the canary gate first. */
function expectWavesAndGates(diagram: string, json: Json): void {
  const edges = checkMermaid(diagram);
  json.waves.forEach((hosts, i) => {
    expect(diagram).toMatch(new RegExp(`^ {2}subgraph wave${i}\\["Wave ${i} `, "m"));
    expect(edges).toContain(`wave${i} --> gate${i}`);
    if (i + 1 < json.waves.length) expect(edges).toContain(`gate${i} --> wave${i + 1}`);
    for (const host of hosts) expect(diagram).toContain(`["${host}<br/>`);
  });
  expect(edges).toContain(`gate${json.waves.length - 1} --> done`);
  expect(diagram).toMatch(new RegExp(`^ {2}gate0\\{\\{"canary gate: ${json.policy.canaryRuns} good runs within `, "m"));
  expect(diagram).toContain('subgraph wave0["Wave 0 · canary ·');
  for (const h of json.held) expect(diagram).toContain(`["${h.name}<br/>`);
}

/** The reasons table: one row per worker of the head stack and per removed worker, each with known reasons. */
function expectReasonRows(markdown: string, json: Json): void {
  const rows = markdown.split("\n").filter((l) => /^\| `[^`]+` \| (wave \d+|held|—)/.test(l));
  const names = rows.map((r) => /^\| `([^`]+)`/.exec(r)![1]);
  expect(names.sort()).toEqual([...Object.keys(json.reasons.workers), ...json.reasons.removed.map((r) => r.name)].sort());
  for (const row of rows) {
    const reasons = row.split(" | ")[2].split(", ");
    for (const r of reasons) expect([...REASONS, REMOVED] as string[]).toContain(r);
  }
}

describe.concurrent("the committed Pulumi.prod.yaml", () => {
  const base = path.join(dir, "prod-base.yaml");
  fs.writeFileSync(base, execFileSync("git", ["show", "HEAD:Pulumi.prod.yaml"], { cwd: ROOT }));
  const runs = Promise.all([
    plan(["--stack", "prod", "--format", "json", "--base", base]).then((s) => JSON.parse(s) as Json),
    plan(["--stack", "prod", "--format", "markdown", "--base", base]),
    plan(["--stack", "prod", "--format", "mermaid"]),
    plan(["--stack", "prod", "--format", "markdown"]),
  ]);

  test("markdown: every worker, every wave and gate in the table and the flowchart, and a reasons row each", async () => {
    const [json, markdown] = await runs;
    json.waves.forEach((hosts, i) => {
      const row = markdown.split("\n").find((l) => new RegExp(`^\\| ${i}( \\(canary\\))? \\|`).test(l))!;
      for (const host of hosts) expect(row).toContain(`\`${host}\``);
      expect(row).toContain(i === 0 ? `canary gate on ${json.canary}` : "verify on ");
    });
    expectWavesAndGates(mermaidBlock(markdown), json);
    expect(markdown).toContain(`### Why each worker is in the rollout (compared with \`${base}\`)`);
    expectReasonRows(markdown, json);
  });

  test("mermaid alone is the flowchart the markdown embeds", async () => {
    const [json, , mermaid, plainMarkdown] = await runs;
    expectWavesAndGates(mermaid, json);
    expect(mermaidBlock(plainMarkdown)).toBe(mermaid);
  });

  test("without --base the markdown says reasons need a base", async () => {
    const [, , , plainMarkdown] = await runs;
    expect(plainMarkdown).toContain("### Why each worker is in the rollout\n\n_reasons need a base: run with --base FILE");
  });
});

describe.concurrent("a generated 20-worker stack with a base", () => {
  const release = (version: string) => ({
    version,
    worker: { url: `https://artifacts.example/${version}/w.tgz`, sha256: (version === "v1" ? "a" : "c").repeat(64) },
    executor: { url: `https://artifacts.example/${version}/e.tgz`, sha256: (version === "v1" ? "b" : "d").repeat(64) },
  });
  const workerEntry = (i: number) => {
    const name = `zombie-gen-${String(i).padStart(2, "0")}`;
    const source = i % 5 === 4 ? { ovh: { order: { plan: "24rise01", datacenter: "bhs", os: "debian12_64" } } }
      : i % 3 === 0 ? { ovh: { serviceName: `ns50${i}.example.net` } } : { host: { address: `10.20.0.${i + 1}` } };
    return { name, ...source, ...(i === 7 ? { hold: "disk swap, OPS-7" } : {}) };
  };
  const stack = (version: string, workers: object[]) => ({
    environment: ["zombie/gen-secrets"],
    config: {
      "zombie-fleet:release": release(version),
      "zombie-fleet:rollout": { canary: "zombie-gen-03", canaryRuns: 4, waves: [1, 2, "25%"], maxUnavailable: "25%" },
      "zombie-fleet:verify": { metricsUrl: "http://zombie-api:3000/metrics" },
      "zombie-fleet:ssh": { user: "deploy", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGen gen" },
      "zombie-fleet:workers": workers,
    },
  });
  const head = path.join(dir, "Pulumi.gen.yaml");
  const base = path.join(dir, "gen-base.yaml");
  fs.writeFileSync(head, stringify(stack("v2", Array.from({ length: 20 }, (_, i) => workerEntry(i)))));
  fs.writeFileSync(base, stringify(stack("v1", [
    ...Array.from({ length: 19 }, (_, i) => workerEntry(i)), { name: "zombie-gen-old", host: { address: "10.20.0.99" } },
  ])));
  const runs = Promise.all([
    plan(["--file", head, "--base", base, "--format", "json"]).then((s) => JSON.parse(s) as Json),
    plan(["--file", head, "--base", base, "--format", "markdown"]),
    plan(["--file", head, "--base", base, "--format", "mermaid"]),
    plan(["--file", head, "--base", base, "--format", "text"]),
  ]);

  test("the plan has 20 workers: one held, the rest in waves under the 25% cap", async () => {
    const [json] = await runs;
    expect(json.waves.flat()).toHaveLength(19);
    expect(json.held.map((h) => h.name)).toEqual(["zombie-gen-07"]);
    expect(json.waves[0]).toEqual(["zombie-gen-03"]);
    for (const wave of json.waves) expect(wave.length).toBeLessThanOrEqual(5);
  });

  test("markdown and mermaid draw every worker, every wave and the gates between them", async () => {
    const [json, markdown, mermaid] = await runs;
    expect(mermaidBlock(markdown)).toBe(mermaid);
    expectWavesAndGates(mermaid, json);
    expect(markdown.split("\n").filter((l) => /^\| \d+( \(canary\))? \|/.test(l))).toHaveLength(json.waves.length);
    for (let i = 0; i < 20; i++) expect(markdown).toContain(`\`zombie-gen-${String(i).padStart(2, "0")}\``);
  });

  test("the reasons table says release change, new host, held and removed where they apply", async () => {
    const [json, markdown] = await runs;
    expectReasonRows(markdown, json);
    expect(markdown).toContain("**19 of 19 active workers re-run, 0 unchanged, 1 held, 1 removed**");
    expect(markdown).toMatch(/^\| `zombie-gen-19` \| wave \d+ \| new host \|/m);
    expect(markdown).toMatch(/^\| `zombie-gen-03` \| wave 0 \(canary\) \| release change \| release\.version v1 → v2 \|/m);
    expect(markdown).toMatch(/^\| `zombie-gen-07` \| held \| held \|/m);
    expect(markdown).toMatch(/^\| `zombie-gen-old` \| — \| removed \(will be drained and decommissioned\) \|/m);
  });

  test("text shows the same reasons", async () => {
    const [json, , , text] = await runs;
    for (const name of Object.keys(json.reasons.workers)) {
      expect(text).toMatch(new RegExp(`^ {2}${name} +(wave \\d+( \\(canary\\))?|held) +${json.reasons.workers[name].reasons.join(", ")}$`, "m"));
    }
    expect(text).toMatch(/^ {2}zombie-gen-old +- +removed \(will be drained and decommissioned\)$/m);
  });
});
