import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, loadStackFile, validateFleetConfig } from "../../config/load";
import { Raw, SECRET_MARKER, minimalRaw } from "./fleet-fixture";

const ROOT = path.join(__dirname, "..", "..");

/** The problems validation reports for `raw`, or [] when it is valid. */
function problemsOf(raw: Raw, secretsRequired = true): string[] {
  try {
    validateFleetConfig(raw, { source: "test", secretsRequired });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

function mutated(change: (raw: Raw) => void): Raw {
  const raw = minimalRaw();
  change(raw);
  return raw;
}

// [situation, path of the one problem it must report, change to the minimal valid config]
const MALFORMED: [string, string, (raw: Raw) => void][] = [
  ["release missing", "release", (r) => delete r.release],
  ["release version with a slash", "release.version", (r) => (r.release.version = "../v1")],
  ["worker sha256 too short", "release.worker.sha256", (r) => (r.release.worker.sha256 = "abc123")],
  ["executor sha256 in upper case", "release.executor.sha256", (r) => (r.release.executor.sha256 = "B".repeat(64))],
  ["artifact URL not http(s)", "release.worker.url", (r) => (r.release.worker.url = "ftp://example.test/z.tgz")],
  ["no workers", "workers", (r) => (r.workers = [])],
  ["duplicate worker name", "workers[2].name", (r) => (r.workers[2].name = "w-a")],
  ["worker name with capitals and underscore", "workers[0].name", (r) => (r.workers[0].name = "Worker_1")],
  ["worker with both ovh.serviceName and host.address", "workers[1]", (r) => (r.workers[1].host = { address: "10.0.0.2" })],
  ["worker with neither ovh nor host", "workers[0]", (r) => delete r.workers[0].host],
  ["ovh with both serviceName and order", "workers[1].ovh", (r) => {
    r.ssh.publicKey = "ssh-ed25519 AAAAC3Nza test";
    r.workers[1].ovh.order = { plan: "p", datacenter: "bhs", os: "debian12_64" };
  }],
  ["ovh order without ssh.publicKey", "workers[1].ovh.order", (r) => (r.workers[1].ovh = { order: { plan: "p", datacenter: "bhs", os: "debian12_64" } })],
  ["host address with spaces", "workers[0].host.address", (r) => (r.workers[0].host.address = "10.0.0.1 rm -rf")],
  ["unknown key in a worker", "workers[0].canaryy", (r) => (r.workers[0].canaryy = true)],
  ["canary naming no worker", "rollout.canary", (r) => (r.rollout = { canary: "w-z" })],
  ["canary naming a held worker", "rollout.canary", (r) => { r.rollout = { canary: "w-b" }; r.workers[1].hold = "OPS-1"; }],
  ["canary: true on a held worker", "workers[0].canary", (r) => Object.assign(r.workers[0], { canary: true, hold: true })],
  ["two workers with canary: true", "workers[2].canary", (r) => { r.workers[0].canary = true; r.workers[2].canary = true; }],
  ["a wave of 0", "rollout.waves[1]", (r) => (r.rollout = { waves: [1, 0] })],
  ["a wave percentage over 100", "rollout.waves[0]", (r) => (r.rollout = { waves: ["150%"] })],
  ["maxUnavailable over 100%", "rollout.maxUnavailable", (r) => (r.rollout = { maxUnavailable: "101%" })],
  ["integer wave above an integer maxUnavailable", "rollout.waves[1]", (r) => (r.rollout = { waves: [1, 3], maxUnavailable: 2 })],
  ["negative drain deadline", "rollout.drainDeadline", (r) => (r.rollout = { drainDeadline: "-5m" })],
  ["unparsable canary deadline", "rollout.canaryDeadline", (r) => (r.rollout = { canaryDeadline: "soon" })],
  ["duration with a space", "rollout.minHealthyTime", (r) => (r.rollout = { minHealthyTime: "5 m" })],
  ["canaryRuns of 0", "rollout.canaryRuns", (r) => (r.rollout = { canaryRuns: 0 })],
  ["onDrainDeadline not fail|proceed", "rollout.onDrainDeadline", (r) => (r.rollout = { onDrainDeadline: "ignore" })],
  ["unknown key in rollout", "rollout.wave", (r) => (r.rollout = { wave: [1] })],
  ["drain deadline below env.RUN_TIMEOUT_MS", "rollout.drainDeadline", (r) => { r.env = { RUN_TIMEOUT_MS: "300000" }; r.rollout = { drainDeadline: "4m" }; }],
  ["RUN_TIMEOUT_MS not a number", "env.RUN_TIMEOUT_MS", (r) => (r.env = { RUN_TIMEOUT_MS: "5m" })],
  ["unknown drain signal", "drain.signal", (r) => (r.drain = { signal: "SIGKILL" })],
  ["empty drain completion line", "drain.completeLog", (r) => (r.drain = { completeLog: "" })],
  ["metrics URL without a scheme", "verify.metricsUrl", (r) => (r.verify = { metricsUrl: "zombie-api:3000/metrics" })],
  ["secret-looking key in plain env", "env.GITHUB_WEBHOOK_SECRET", (r) => (r.env = { GITHUB_WEBHOOK_SECRET: "x" })],
  ["known secret key in plain env", "env.REDIS_URL_WORKER", (r) => { r.env = { REDIS_URL_WORKER: "rediss://r" }; }],
  ["same key in env and secrets", "env.SHARED", (r) => { r.env = { SHARED: "1" }; r.secrets.SHARED = "2"; }],
  ["env key that is not a variable name", "env.LOG-LEVEL", (r) => (r.env = { "LOG-LEVEL": "info" })],
  ["bad ssh user", "ssh.user", (r) => (r.ssh.user = "Root!")],
  ["ssh port out of range", "ssh.port", (r) => (r.ssh.port = 70000)],
  ["hostKeys naming no worker", "ssh.hostKeys.w-ghost", (r) => (r.ssh.hostKeys = { "w-ghost": "ssh-ed25519 AAAA" })],
  ["ssh.privateKey missing", "ssh.privateKey", (r) => delete r.ssh.privateKey],
  ["an ssh-rsa host key pinned", "ssh.hostKeys.w-a", (r) => (r.ssh.hostKeys = { "w-a": "ssh-rsa AAAAB3NzaC1yc2E host" })],
  ["a host key that is not a key line", "ssh.hostKeys.w-a", (r) => (r.ssh.hostKeys = { "w-a": "SHA256:abc" })],
  ["unlimited dial retries", "ssh.dialErrorLimit", (r) => (r.ssh.dialErrorLimit = -1)],
  ["no per-dial timeout", "ssh.perDialTimeout", (r) => (r.ssh.perDialTimeout = "0s")],
  ["a per-dial timeout over 2 minutes", "ssh.perDialTimeout", (r) => (r.ssh.perDialTimeout = "1h")],
  ["tailscale tag without tag: prefix", "tailscale.tags[0]", (r) => (r.tailscale = { tags: ["zombie-worker"] })],
  ["unknown top-level key", "rolout", (r) => (r.rolout = {})],
];

describe("a malformed config is rejected with its path", () => {
  test("the table covers at least 25 distinct paths", () => {
    expect(new Set(MALFORMED.map(([, p]) => p)).size).toBeGreaterThanOrEqual(25);
  });

  test("the unchanged minimal config is valid", () => {
    expect(problemsOf(minimalRaw())).toEqual([]);
  });

  test.each(MALFORMED)("%s → %s", (_situation, expectedPath, change) => {
    const problems = problemsOf(mutated(change));
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`${expectedPath}: `)).toBe(true);
    expect(problems[0]).toMatch(/ \(got .+\)$/);
    expect(problems[0]).not.toContain(SECRET_MARKER);
  });
});

test("an ssh-rsa host key is refused with the reason and the fix", () => {
  const problems = problemsOf(mutated((r) => (r.ssh.hostKeys = { "w-a": "ssh-rsa AAAAB3NzaC1yc2E host" })));
  expect(problems[0]).toMatch(/^ssh\.hostKeys\.w-a: is an ssh-rsa key, which cannot be pinned: .*OpenSSH 8\.8.*ssh-keyscan -t ed25519/);
});

describe("several problems", () => {
  test("are all reported at once, sorted by path", () => {
    const problems = problemsOf(mutated((r) => {
      r.release.worker.sha256 = "nope";
      r.workers[2].name = "w-a";
      r.rollout = { waves: [0], drainDeadline: "forever", canary: "w-z" };
      r.drain = { signal: "SIGKILL" };
      r.env = { API_TOKEN: "t" };
    }));
    expect(problems.map((p) => p.split(": ")[0])).toEqual([
      "drain.signal", "env.API_TOKEN", "release.worker.sha256", "rollout.canary", "rollout.drainDeadline",
      "rollout.waves[0]", "workers[2].name",
    ]);
  });

  test("the error message lists every problem on its own line", () => {
    const error = (() => {
      try {
        validateFleetConfig(mutated((r) => { r.drain = { signal: "SIGKILL" }; r.ssh.user = "Root!"; }), { source: "stack t", secretsRequired: true });
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(error?.message.split("\n")).toEqual(["invalid stack config in stack t:", ...error!.problems.map((p) => `  ${p}`)]);
    expect(error?.problems).toHaveLength(2);
  });
});

describe("secret values never appear in messages", () => {
  test.each<[string, (r: Raw) => void, string]>([
    ["a secret of the wrong type", (r) => (r.secrets.DATABASE_URL_WORKER = { url: SECRET_MARKER }), "secrets.DATABASE_URL_WORKER"],
    ["a secret with a bad key", (r) => (r.secrets = { "bad-key": SECRET_MARKER }), "secrets.bad-key"],
    ["a private key of the wrong type", (r) => (r.ssh.privateKey = [SECRET_MARKER]), "ssh.privateKey"],
  ])("%s is shown as [secret]", (_situation, change, expectedPath) => {
    const problems = problemsOf(mutated(change));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${expectedPath.replace(/[.[\]]/g, "\\$&")}: .* \\(got \\[secret\\]\\)$`));
    expect(problems.join("\n")).not.toContain(SECRET_MARKER);
  });
});

describe("valid configs", () => {
  test("a minimal config gets the seed's defaults", () => {
    const config = validateFleetConfig(minimalRaw(), { source: "test", secretsRequired: true });
    expect(config.drain).toEqual({ signal: "SIGUSR1", completeLog: "drain complete, 0 active runs" });
    expect(config.verify.command).toBe("zombied doctor worker");
    expect(config.verify.counters).toEqual({
      sessions: "sessions_created_total", failures: "failures_total",
      oomKills: "oom_kills_total", landlockDenials: "landlock_denials_total",
    });
    expect(config.rollout.canaryRuns).toBe(3);
    // Durations are seconds, defaults included (a default left as the string "15m" broke every estimate).
    expect(config.rollout).toMatchObject({ canaryDeadline: 15 * 60, drainDeadline: 6 * 60, minHealthyTime: 30 });
    expect(config.workers.map((w) => w.source.kind)).toEqual(["existing", "adopt", "existing"]);
  });

  test("a small fleet accepts the default waves under the default percentage cap", () => {
    const raw = mutated((r) => (r.workers = [r.workers[0]]));
    expect(problemsOf(raw)).toEqual([]);
  });

  test("the committed Pulumi.prod.yaml parses, with its workers, holds and ESC environment", () => {
    const file = path.join(ROOT, "Pulumi.prod.yaml");
    const yaml = parseYaml(fs.readFileSync(file, "utf8"));
    const { config, environments } = loadStackFile(file);
    const rawWorkers = yaml.config["zombie-fleet:workers"] as Raw[];
    expect(config.workers.map((w) => w.name)).toEqual(rawWorkers.map((w) => w.name));
    expect(config.workers.filter((w) => w.hold).map((w) => [w.name, w.hold])).toEqual(
      rawWorkers.filter((w) => w.hold).map((w) => [w.name, w.hold]));
    expect(environments).toEqual(yaml.environment);
    expect(config.release.version).toBe(yaml.config["zombie-fleet:release"].version);
    expect(config.rollout.drainDeadline * 1000).toBeGreaterThanOrEqual(Number(config.env.RUN_TIMEOUT_MS));
  });
});

describe("loading a stack file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-config-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function stackFile(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  function loadProblems(file: string): string[] {
    try {
      loadStackFile(file);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.problems;
    }
  }

  const release = `  zombie-fleet:release:
    version: v1
    worker: { url: "https://e.test/w", sha256: ${"a".repeat(64)} }
    executor: { url: "https://e.test/e", sha256: ${"b".repeat(64)} }
`;

  test("secure: values stay opaque and an ESC environment makes ssh.privateKey optional", () => {
    const file = stackFile("Pulumi.esc.yaml", `environment: [team/secrets]
config:
  ovh:endpoint: ovh-ca
${release}  zombie-fleet:secrets:
    DATABASE_URL_WORKER: { secure: "v1:CIPHERTEXT-${SECRET_MARKER}" }
  zombie-fleet:workers:
    - { name: w-a, host: { address: 10.0.0.1 } }
`);
    const { config, environments } = loadStackFile(file);
    expect(environments).toEqual(["team/secrets"]);
    expect(config.secrets.DATABASE_URL_WORKER).toBe("[secret]");
    expect(JSON.stringify(config)).not.toContain(SECRET_MARKER);
  });

  test("an unknown zombie-fleet key is reported with the schema's problems, ciphertext never shown", () => {
    const file = stackFile("Pulumi.bad.yaml", `config:
${release}  zombie-fleet:rolout: { waves: [1] }
  zombie-fleet:ssh: { privateKey: { secure: "v1:${SECRET_MARKER}" }, user: "Root!" }
  zombie-fleet:workers:
    - { name: w-a, host: { address: 10.0.0.1 } }
`);
    const problems = loadProblems(file);
    expect(problems.map((p) => p.split(": ")[0])).toEqual(["rolout", "ssh.user"]);
    expect(problems[0]).toContain("(got zombie-fleet:rolout)");
    expect(problems.join("\n")).not.toMatch(/secure|MARKER/);
  });

  test("a file that is not YAML is one problem naming the file", () => {
    const file = stackFile("Pulumi.broken.yaml", "config: [unclosed\n");
    const problems = loadProblems(file);
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`${file}: cannot be read as YAML`)).toBe(true);
  });
});
