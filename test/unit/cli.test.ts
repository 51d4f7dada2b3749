// Runs the real `npm run plan` entry point as a child process, as an operator or CI would.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { UsageError, parseCli } from "../../cli/plan";
import { formatDuration } from "../../config/duration";
import { Raw, SECRET_MARKER } from "./fleet-fixture";

const ROOT = path.join(__dirname, "..", "..");
const PROD = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"));
const PROD_WORKERS = (PROD.config["zombie-fleet:workers"] as { name: string; hold?: unknown }[]);
const ACTIVE = PROD_WORKERS.filter((w) => !w.hold).map((w) => w.name);
const HELD = PROD_WORKERS.filter((w) => w.hold).map((w) => w.name);

interface Run { code: number | null; stdout: string; stderr: string }

function plan(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const env = { ...process.env, ...options.env };
  if (!options.env?.INIT_CWD) delete env.INIT_CWD; // `npm test` sets it; these runs stand for a direct call
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "cli", "plan.ts"), ...args],
      { cwd: options.cwd ?? ROOT, env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) ?? null : 0, stdout, stderr }));
  });
}

// Each prod invocation runs once and is shared by the tests that read it: a run costs ~0.7 s of tsx start-up.
const prodRuns = new Map<string, Promise<Run>>();
function prodPlan(args: string[]): Promise<Run> {
  const key = args.join(" ");
  if (!prodRuns.has(key)) prodRuns.set(key, plan(args));
  return prodRuns.get(key)!;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-cli-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function stackFile(name: string, text: string): string {
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
}

const RELEASE = `  zombie-fleet:release:
    version: v2.0.0
    worker: { url: "https://e.test/w.tgz", sha256: ${"a".repeat(64)} }
    executor: { url: "https://e.test/e.tgz", sha256: ${"b".repeat(64)} }
`;

describe.concurrent("on the committed prod stack", () => {
  // How each format marks wave i, the canary gate, and the worst case; checked against the json of the same run.
  const MARKS: Record<string, { wave: (i: number) => RegExp; canaryGate: RegExp; estimate: (j: Raw) => string }> = {
    text: {
      wave: (i) => new RegExp(`^ {2}Wave ${i}[ :]`, "m"),
      canaryGate: /^ {4}gate: canary gate on /m,
      estimate: (j) => `Worst case in total: ${formatDuration(j.estimate.worstCaseSeconds)}`,
    },
    markdown: {
      wave: (i) => new RegExp(`^\\| ${i}( \\(canary\\))? \\|`, "m"),
      canaryGate: /\| canary gate on /,
      estimate: (j) => `**Worst case:** ${formatDuration(j.estimate.worstCaseSeconds)}`,
    },
    mermaid: {
      wave: (i) => new RegExp(`^ {2}subgraph wave${i}\\["Wave ${i} `, "m"),
      canaryGate: /^ {2}gate0\{\{"canary gate: /m,
      estimate: (j) => `worst case ${formatDuration(j.estimate.perWave[0])}`,
    },
    json: {
      wave: (i) => new RegExp(`^ {6}"wave": ${i},$`, "m"),
      canaryGate: /^ {4}"canary-gate",$/m,
      estimate: (j) => `"worstCaseSeconds": ${j.estimate.worstCaseSeconds},`,
    },
  };

  test.each(Object.keys(MARKS))("--format %s exits 0 with every worker, every wave, the canary gate and the estimate", async (format) => {
    const run = await prodPlan(["--stack", "prod", "--format", format]);
    const json = JSON.parse((await prodPlan(["--stack", "prod", "--format", "json"])).stdout);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    for (const name of [...ACTIVE, ...HELD]) expect(run.stdout).toContain(name);
    json.waves.forEach((_: unknown, i: number) => expect(run.stdout).toMatch(MARKS[format].wave(i)));
    expect(run.stdout).not.toMatch(MARKS[format].wave(json.waves.length));
    expect(run.stdout).toMatch(MARKS[format].canaryGate);
    expect(run.stdout).toContain(MARKS[format].estimate(json));
    expect(run.stdout).not.toMatch(/secure|v1:/);
  });

  test("text: release, canary, waves in order with gates, estimate, held, ESC environment", async () => {
    const { stdout } = await prodPlan([]);
    expect(stdout).toBe((await prodPlan(["--stack", "prod", "--format", "text"])).stdout);
    const json = JSON.parse((await prodPlan(["--stack", "prod", "--format", "json"])).stdout);
    expect(stdout).toContain(`release  ${PROD.config["zombie-fleet:release"].version}`);
    expect(stdout).toContain(`canary   ${PROD.config["zombie-fleet:rollout"].canary}`);
    const waveHeaders = stdout.split("\n").filter((l) => /^ {2}Wave \d+/.test(l));
    expect(waveHeaders).toHaveLength(json.waves.length);
    expect(waveHeaders[0]).toContain("(canary)");
    expect(stdout).toContain(`gate: canary gate on ${json.canary}`);
    expect(stdout).toContain(`Worst case in total: ${formatDuration(json.estimate.worstCaseSeconds)}`);
    for (const name of HELD) expect(stdout).toMatch(new RegExp(`Held[^]*\\n {2}${name} `));
    for (const env of PROD.environment) expect(stdout).toContain(`ESC environment ${env}`);
  });

  test("json: the documented shape, every active worker exactly once", async () => {
    const json = JSON.parse((await prodPlan(["--stack", "prod", "--format", "json"])).stdout);
    expect(json.stack).toBe("prod");
    expect(json.waves.flat().sort()).toEqual([...ACTIVE].sort());
    expect(Object.keys(json.workers).sort()).toEqual([...ACTIVE].sort());
    expect(json.held.map((h: { name: string }) => h.name)).toEqual(HELD);
    expect(json.workers[json.canary]).toMatchObject({ wave: 0, canary: true });
    expect(json.estimate.perWave).toHaveLength(json.waves.length);
    expect(Array.isArray(json.warnings)).toBe(true);
  });

  test("mermaid: a flowchart with the canary gate between wave 0 and wave 1", async () => {
    const { stdout } = await prodPlan(["--stack", "prod", "--format", "mermaid"]);
    expect(stdout.startsWith("flowchart TD\n")).toBe(true);
    expect(stdout).toMatch(/wave0 --> gate0\n/);
    expect(stdout).toMatch(/gate0\{\{"canary gate: /);
    expect(stdout).toContain("gate0 --> wave1");
  });

  test("markdown: heading, waves table and a mermaid block", async () => {
    const { stdout } = await prodPlan(["--stack", "prod", "--format", "markdown"]);
    expect(stdout).toMatch(/^## Rollout plan: stack `prod`/);
    expect(stdout).toContain("| Wave | Hosts | Gate to the next wave | Worst case |");
    expect(stdout).toMatch(/```mermaid\nflowchart TD\n[^]*\n```\n/);
  });
});

test("the CLI loads only yaml and zod from node_modules: no @pulumi/*, so it starts fast", async () => {
  const script = 'require("./cli/plan.ts"); process.stdout.write(JSON.stringify(Object.keys(require.cache)))';
  const loaded = await new Promise<string[]>((resolve, reject) =>
    execFile(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT }, (error, stdout) =>
      (error ? reject(error) : resolve(JSON.parse(stdout)))));
  const packageOf = (file: string) => {
    const parts = file.split("/node_modules/").pop()!.split("/");
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  };
  const packages = new Set(loaded.filter((f) => f.includes("/node_modules/")).map(packageOf));
  packages.delete("tsx");
  packages.delete("esbuild");
  expect([...packages].sort()).toEqual(["yaml", "zod"]);
  expect(loaded.some((f) => f.endsWith("/cli/plan.ts"))).toBe(true);
});

describe("bad usage", () => {
  // Argument checks in-process (each child run costs ~0.7 s); the exit status through the real entry point below.
  test.each<[string[], RegExp]>([
    [["--format", "xml"], /^--format must be one of text, markdown, mermaid, json \(got xml\)$/],
    [["--stack", "nope"], /^--stack nope: no Pulumi\.nope\.yaml in .*; stacks here: (.*, )?prod\b/],
    [["--stack", "../etc"], /^--stack must be a stack name like prod \(got \.\.\/etc\)$/],
    [["--stack", "prod", "--file", "Pulumi.prod.yaml"], /^give --stack or --file, not both$/],
    [["--file", "missing.yaml"], /^--file missing\.yaml: no such file$/],
    [["--frobnicate"], /Unknown option '--frobnicate'/],
    [["prod"], /positional argument/],
  ])("%j is refused", (args, message) => {
    expect(() => parseCli(args, ROOT)).toThrow(UsageError);
    expect(() => parseCli(args, ROOT)).toThrow(message);
  });

  test.concurrent.each<[string[]]>([[["--format", "xml"]], [["--frobnicate"]], [["--stack", "nope"]]])(
    "%j exits 2 with the message on stderr and nothing on stdout", async (args) => {
      const run = await plan(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/^plan: .+\nRun `npm run plan -- --help` for usage\.\n$/);
    });

  test("--help prints usage and exits 0", async () => {
    const run = await plan(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run plan -- /);
  });
});

describe.concurrent("a stack file given with --file", () => {
  test("a broken one exits 1 and lists every problem with its path, no secret anywhere", async () => {
    const file = stackFile("Pulumi.broken.yaml", `config:
${RELEASE.replace("version: v2.0.0", "version: ''")}  zombie-fleet:rollout: { waves: [0, "150%"], drainDeadline: soon, canary: w-z }
  zombie-fleet:drain: { signal: SIGKILL }
  zombie-fleet:ssh: { privateKey: { secure: "v1:CIPHER${SECRET_MARKER}" }, user: "Root!" }
  zombie-fleet:secrets: { "bad-key": "${SECRET_MARKER}" }
  zombie-fleet:workers:
    - { name: w-a, host: { address: 10.0.0.1 } }
    - { name: w-a, ovh: { serviceName: ns1.example.net }, host: { address: 10.0.0.2 } }
`);
    const run = await plan(["--file", file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    const problems = run.stderr.split("\n").filter((l) => l.startsWith("  ")).map((l) => l.trim());
    expect(problems.map((p) => p.split(": ")[0])).toEqual([
      "drain.signal", "release.version", "rollout.canary", "rollout.drainDeadline", "rollout.waves[0]",
      "rollout.waves[1]", "secrets.bad-key", "ssh.user", "workers[1]", "workers[1].name",
    ]);
    for (const p of problems) expect(p).toMatch(/\(got .+\)$/);
    expect(run.stderr).toContain(`invalid stack config in ${file} (10 problems)`);
    expect(run.stderr).not.toMatch(/MARKER|CIPHER|secure/);
  });

  test("a file that is not YAML exits 1 naming the file", async () => {
    const file = stackFile("Pulumi.garbled.yaml", "config: [unclosed\n");
    const run = await plan(["--file", file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file}: cannot be read as YAML`);
  });

  test("secure: values and plain-text secrets never reach any format", async () => {
    const file = stackFile("Pulumi.secrets.yaml", `config:
${RELEASE}  zombie-fleet:ssh: { privateKey: { secure: "v1:CIPHER${SECRET_MARKER}" } }
  zombie-fleet:secrets:
    DATABASE_URL_WORKER: { secure: "v1:CIPHER${SECRET_MARKER}" }
    REDIS_URL_WORKER: "rediss://u:${SECRET_MARKER}@redis"
  zombie-fleet:workers:
    - { name: w-a, host: { address: 10.0.0.1 } }
    - { name: w-b, host: { address: 10.0.0.2 } }
`);
    const runs = await Promise.all(["text", "markdown", "mermaid", "json"].map((f) => plan(["--file", file, "--format", f])));
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout + run.stderr).not.toMatch(/MARKER|CIPHER|secure:/);
    }
    const text = runs[0].stdout;
    expect(text).toContain("encrypted in");
    expect(text).toContain("ssh.privateKey, secrets.DATABASE_URL_WORKER");
    expect(text).toContain("secrets.REDIS_URL_WORKER is plain text in the stack file");
  });

  test("a relative path is read from where the operator ran npm (INIT_CWD)", async () => {
    const file = stackFile("Pulumi.relative.yaml", `config:
${RELEASE}  zombie-fleet:ssh: { privateKey: { secure: "v1:x" } }
  zombie-fleet:workers:
    - { name: w-rel, host: { address: 10.0.0.9 } }
`);
    const run = await plan(["--file", path.basename(file), "--format", "json"], { env: { INIT_CWD: dir } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ stack: "relative", waves: [["w-rel"]] });
  });
});
