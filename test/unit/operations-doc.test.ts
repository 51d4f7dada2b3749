// docs/operations.md is only useful if its commands work here. Every shell command in its code blocks is either
// run for real (`npm run plan …`: offline), or checked against the code (`pulumi …`: subcommand and flags from the
// Pulumi CLI reference, config paths against the schema, the state URN against the program's own resources;
// `npm run lab …`: subcommands and flags from lab/), or listed below as covered elsewhere. Its YAML snippets are
// merged into the committed Pulumi.prod.yaml and must validate, and every config path it names must exist.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { CONFIG_KEYS, OPAQUE_SECRET, fleetSchema } from "../../config/schema";
import { NAMESPACE, readStackFile, validateFleetConfig } from "../../config/load";
import { REASONS, REMOVED } from "../../plan/diff";
import { parseFleetArgs } from "../../cli/fleet";
import { runProgramWith } from "../program/fixtures";
import { schemaAt, setPath } from "./config-paths";
import { Raw } from "./fleet-fixture";

const ROOT = path.join(__dirname, "..", "..");
const DOC = fs.readFileSync(path.join(ROOT, "docs", "operations.md"), "utf8");
const PROD = readStackFile(path.join(ROOT, "Pulumi.prod.yaml"));
const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-ops-doc-"));
afterAll(() => fs.rmSync(sandbox, { recursive: true, force: true }));

// Commands that are not ours to check, and where they are covered instead.
const COVERED_ELSEWHERE: Record<string, string> = {
  "npm run pulumi:install": ".ci/run runs it before the lab suite, whose scenarios need the CLI it builds",
  "npm run plan -- --stack prod --base origin/main":
    "plan-base-ref.test.ts runs --base <git ref> in a throwaway repository (a checkout may have no origin/main)",
  "git show origin/main:Pulumi.prod.yaml > base.yaml":
    "the plan step of .github/workflows/preview.yml does this with the base commit; workflows.test.ts runs that step " +
    "(here base.yaml is the committed Pulumi.prod.yaml)",
};

// The Pulumi CLI reference (pulumi.com/docs/iac/cli/commands/pulumi_<cmd>): the flags the guide may use.
const PULUMI_GLOBAL_FLAGS = ["--stack", "-s", "--color", "--cwd", "-C", "--non-interactive", "--yes", "-y"];
const PULUMI_COMMANDS: Record<string, string[]> = {
  up: ["--diff", "--skip-preview", "--suppress-progress", "--refresh", "--target", "--message", "-m", "--replace"],
  preview: ["--diff", "--expect-no-changes", "--refresh", "--suppress-progress"],
  // --import-pending-creates: pkg/cmd/pulumi/operations/refresh.go at v3.248.0 (a StringArray: one value per flag)
  refresh: ["--clear-pending-creates", "--import-pending-creates", "--preview-only", "--diff"],
  cancel: [],
  "config set": ["--path", "--secret", "--plaintext", "--type"],
  "config get": ["--path", "--json"],
  "config rm": ["--path"],
  "stack output": ["--json", "--show-secrets"],
  stack: ["--show-urns", "-u", "--show-ids", "-i"],
  "state delete": ["--force", "--target-dependents"],
  "env edit": [],
};

interface Block { lang: string; body: string }

/** Fenced code blocks, also those indented inside list items. */
function codeBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^( *)```(\w*)\n([^]*?)^\1```$/gm)].map((m) => ({
    lang: m[2],
    body: m[3].split("\n").map((line) => line.slice(m[1].length)).join("\n"),
  }));
}

/** Shell words of one command line: quotes and backslashes as a POSIX shell reads them; `>`/`<` stay words. */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let text = "";
      for (; line[j] !== '"'; j++) text += line[j] === "\\" ? line[++j] : line[j];
      word = (word ?? "") + text;
      i = j;
    } else if (c === "\\") word = (word ?? "") + line[++i];
    else if (/\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
    } else word = (word ?? "") + c;
  }
  if (word !== null) out.push(word);
  return out;
}

interface Command { block: number; line: string; argv: string[] }

const blocks = codeBlocks(DOC);
const commands: Command[] = blocks.flatMap((b, block) => b.lang !== "bash" ? [] : b.body
  .replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
  .map((line) => ({ block, line, argv: words(line) })));

const isPlan = (c: Command) => /^npm run (-s )?plan\b/.test(c.line);
const isPulumi = (c: Command) => c.argv[0] === "pulumi";
const isLab = (c: Command) => /^npm run lab -- /.test(c.line);
const isFleet = (c: Command) => /^npm run fleet -- /.test(c.line);

test("the guide has commands of every kind, and no command this test does not know how to check", () => {
  expect(commands.filter(isPlan).length).toBeGreaterThanOrEqual(2);
  expect(commands.filter(isPulumi).length).toBeGreaterThanOrEqual(10);
  expect(commands.filter(isLab).length).toBeGreaterThanOrEqual(5);
  for (const c of commands) {
    expect(isPlan(c) || isPulumi(c) || isLab(c) || isFleet(c) || c.line in COVERED_ELSEWHERE, `unchecked command: ${c.line}`).toBe(true);
  }
});

describe("npm run plan, run for real", () => {
  fs.copyFileSync(path.join(ROOT, "Pulumi.prod.yaml"), path.join(sandbox, "base.yaml"));

  const runnable = commands.filter((c) => isPlan(c) && !(c.line in COVERED_ELSEWHERE));
  test.concurrent.each(runnable.map((c) => [c.line, c] as const))("%s", async (_line, c) => {
    const args = c.argv.slice(c.argv.indexOf("--") + 1);
    const redirect = args.indexOf(">");
    const planArgs = redirect < 0 ? args : args.slice(0, redirect);
    const env = { ...process.env, INIT_CWD: sandbox }; // npm's INIT_CWD: where the operator typed the command
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["--import", "tsx", path.join(ROOT, "cli", "plan.ts"), ...planArgs], { cwd: ROOT, env },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Rollout plan/);
    if (planArgs.includes("--base")) expect(run.stdout).toMatch(/Why each worker is in the rollout \(compared with /);
  });
});

// --- config paths (config-paths.ts) --------------------------------------------------------------------------

const prodRaw = (): Raw => structuredClone(PROD.written) as Raw;

const validProd = (raw: Raw) => validateFleetConfig(raw, { source: "docs/operations.md", secretsRequired: false });

describe("pulumi commands", () => {
  const pulumi = commands.filter(isPulumi);

  test.each(pulumi.map((c) => [c.line, c] as const))("%s: subcommand and flags exist, --stack names a stack file", (_line, c) => {
    const rest = c.argv.slice(1);
    const sub = Object.keys(PULUMI_COMMANDS).sort((a, b) => b.length - a.length)
      .find((name) => rest.slice(0, name.split(" ").length).join(" ") === name);
    expect(sub, "a subcommand the guide may use").toBeDefined();
    for (const flag of rest.filter((w) => w.startsWith("-"))) {
      expect([...PULUMI_GLOBAL_FLAGS, ...PULUMI_COMMANDS[sub!]], `${sub}: ${flag}`).toContain(flag);
    }
    if (sub === "env edit") return; // an ESC environment, not a stack
    const stack = rest[rest.indexOf("--stack") + 1];
    expect(rest.includes("--stack") && fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`)), "--stack <a stack file>").toBe(true);
  });

  test("each block of `pulumi config set --path` leaves Pulumi.prod.yaml valid, at schema paths", () => {
    const byBlock = new Map<number, Command[]>();
    for (const c of pulumi.filter((x) => x.argv[1] === "config" && x.argv[2] === "set")) {
      byBlock.set(c.block, [...(byBlock.get(c.block) ?? []), c]);
    }
    expect(byBlock.size).toBeGreaterThanOrEqual(4);
    for (const cmds of byBlock.values()) {
      const raw = prodRaw();
      for (const c of cmds) {
        expect(c.argv).toContain("--path");
        const positional = c.argv.slice(3).filter((w, i, all) => !w.startsWith("-") && all[i - 1] !== "--stack" && w !== "<" && all[i - 1] !== "<");
        const [key, value] = positional;
        expect(schemaAt(key), `${c.line}: ${key} is a schema path`).toBeDefined();
        if (c.argv.includes("--secret")) expect(value, "a secret is never typed on the command line").toBeUndefined();
        const typed = value === undefined ? OPAQUE_SECRET : value === "true" ? true : value === "false" ? false : /^\d+$/.test(value) ? Number(value) : value;
        setPath(raw, key, typed);
      }
      expect(() => validProd(raw), cmds.map((c) => c.line).join("\n")).not.toThrow();
    }
  });

  test("`pulumi stack output` names an output of index.ts", () => {
    const index = fs.readFileSync(path.join(ROOT, "index.ts"), "utf8");
    for (const c of pulumi.filter((x) => x.argv[1] === "stack" && x.argv[2] === "output")) {
      expect(index).toMatch(new RegExp(`^export const ${c.argv[3]} =`, "m"));
    }
  });

  test("`pulumi env edit` names the ESC environment Pulumi.prod.yaml imports", () => {
    for (const c of pulumi.filter((x) => x.argv[1] === "env")) expect(PROD.environments).toContain(c.argv[3]);
  });

  test("every URN the guide names is one the program really registers; `state delete` only decommissions", () => {
    const deletes = pulumi.filter((x) => x.argv[1] === "state" && x.argv[2] === "delete");
    expect(deletes.length).toBeGreaterThan(0);
    const named = pulumi.flatMap((c) => c.argv.filter((w) => w.startsWith("urn:")));
    expect(named.length).toBeGreaterThan(deletes.length);
    const raw = prodRaw();
    raw.ssh = { ...raw.ssh, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n" };
    raw.secrets = { DATABASE_URL_WORKER: "postgres://fake" };
    const dump = runProgramWith(raw);
    expect(dump.error).toBeUndefined();
    // The engine's URN carries the full chain of parent types (pkg/resource/deploy generateURN uses the parent's
    // QualifiedType); the mock monitor keeps only the last one, so the chain is rebuilt from the parents here.
    const byUrn = new Map(dump.registrations.map((r) => [r.urn, r]));
    const qualified = (r: (typeof dump.registrations)[number]): string => {
      const parent = byUrn.get(r.parent);
      return parent && parent.type !== "pulumi:pulumi:Stack" ? `${qualified(parent)}$${r.type}` : r.type;
    };
    const project = /^name: (\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"))![1];
    const urns = new Set(dump.registrations.map((r) => `urn:pulumi:prod::${project}::${qualified(r)}::${r.name}`));
    for (const c of deletes) expect(c.argv.find((w) => w.startsWith("urn:"))).toMatch(/-decommission$/);
    for (const urn of named) expect(urns.has(urn), urn).toBe(true);
  }, 120_000);
});

describe("the tailnet policy snippet", () => {
  test("is JSON that lets tag:ci, the tag the deploy job joins with, reach the workers' tag on port 22", () => {
    const snippets = blocks.filter((b) => b.lang === "json").map((b) => JSON.parse(b.body) as Raw);
    expect(snippets).toHaveLength(1);
    const deploy = parseYaml(fs.readFileSync(path.join(ROOT, ".github", "workflows", "deploy.yml"), "utf8")) as Raw;
    const join = (deploy.jobs.deploy.steps as Raw[]).find((s) => /^tailscale\/github-action@/.test(s.uses ?? ""))!;
    const workerTags = fleetSchema.parse(prodRaw()).tailscale.tags;
    const [acl] = snippets;
    for (const tag of [join.with.tags, ...workerTags]) expect(Object.keys(acl.tagOwners)).toContain(tag);
    expect(acl.acls).toContainEqual({ action: "accept", src: [join.with.tags], dst: workerTags.map((t: string) => `${t}:22`) });
  });
});

describe("npm run lab commands", () => {
  const cli = fs.readFileSync(path.join(ROOT, "lab", "cli.ts"), "utf8");
  const subcommands = [...cli.matchAll(/case "([a-z]+)":/g)].map((m) => m[1]);
  const source = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
  // Where each subcommand's flags are parsed.
  const flagsOf: Record<string, string[]> = {
    load: [...source("lab/load.ts").matchAll(/option\(argv, "(--[a-z-]+)"/g)].map((m) => m[1]),
    check: [...source("lab/load.ts").matchAll(/(?:option\(argv|argv\.includes\()\(?,? ?"(--[a-z-]+)"/g)].map((m) => m[1]),
    apply: [...source("lab/up.ts").matchAll(/flag === "(--[a-z-]+)"/g)].map((m) => m[1]),
  };
  const releases = (/VERSIONS=\$\{LAB_VERSIONS:-([^}]+)\}/.exec(source("lab/artifacts.sh"))?.[1] ?? "").split(" ");

  test.each(commands.filter(isLab).map((c) => [c.line, c] as const))("%s", (_line, c) => {
    const [sub, ...args] = c.argv.slice(c.argv.indexOf("--") + 1);
    expect(subcommands).toContain(sub);
    for (const flag of args.filter((a) => a.startsWith("--"))) expect(flagsOf[sub] ?? [], `${sub} ${flag}`).toContain(flag);
    if (sub === "release") expect(releases).toContain(args[0]);
  });

  test("the lab releases the guide names exist", () => {
    for (const version of DOC.match(/\bv3-[a-z-]+\b/g) ?? []) expect(releases).toContain(version);
  });
});

// They need the stack's hosts: test/unit/fleet-cli.test.ts runs the CLI end to end with a fake ssh and pulumi.
describe("npm run fleet commands", () => {
  test.each(commands.filter(isFleet).map((c) => [c.line, c] as const))("%s: valid usage, a worker of the stack", (_line, c) => {
    const opts = parseFleetArgs(c.argv.slice(c.argv.indexOf("--") + 1));
    expect(opts).not.toBe("help");
    if (opts === "help" || opts.host === undefined) return;
    const file = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${opts.stack}.yaml`), "utf8")) as { config: Raw };
    expect((file.config[`${NAMESPACE}:workers`] as { name: string }[]).map((w) => w.name)).toContain(opts.host);
  });
});

describe("stack config in the guide", () => {
  test("every YAML snippet, merged into Pulumi.prod.yaml, is valid stack config", () => {
    const snippets = blocks.filter((b) => b.lang === "yaml");
    expect(snippets.length).toBeGreaterThanOrEqual(4);
    for (const { body } of snippets) {
      const raw = prodRaw();
      for (const [key, value] of Object.entries(parseYaml(body) as Raw)) {
        const [namespace, name] = key.split(":");
        expect(namespace).toBe(NAMESPACE);
        expect(CONFIG_KEYS as readonly string[]).toContain(name);
        if (name === "workers") {
          for (const w of value as Raw[]) {
            const i = (raw.workers as Raw[]).findIndex((x) => x.name === w.name);
            raw.workers[i < 0 ? raw.workers.length : i] = w;
          }
        } else raw[name] = { ...(raw[name] ?? {}), ...(value as Raw) };
      }
      expect(() => validProd(raw), body).not.toThrow();
    }
  });

  test("every config path the guide names in backticks exists in the schema", () => {
    const top = CONFIG_KEYS.join("|");
    const named = [...DOC.matchAll(/`([^`\s]+)`/g)].map((m) => m[1])
      .filter((t) => new RegExp(`^(${top})(\\.|\\[)`).test(t));
    expect(named.length).toBeGreaterThan(20);
    for (const p of named) expect(schemaAt(p.replace(/\*$/, "ANY_KEY")), p).toBeDefined();
  });

  test("it names every reason the plan can give", () => {
    for (const reason of [...REASONS, REMOVED]) expect(DOC).toContain(`\`${reason}\``);
  });
});
