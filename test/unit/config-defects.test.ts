// Issue #11 items 8–11: bad config is refused with its path by the one validation the plan and the program share,
// never crashes, and never echoes a secret; Object.prototype names are ordinary env keys.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ConfigError, loadFromPulumiConfig, loadStackFile, validateFleetConfig } from "../../config/load";
import { renderEnvFile } from "../../host/env";
import { Raw, SECRET_MARKER, configProblems, minimalRaw } from "./fleet-fixture";

const problemsOf = (raw: Raw) => configProblems(() => validateFleetConfig(raw, { source: "test", secretsRequired: true }));
const mutated = (change: (raw: Raw) => void): Raw => { const raw = minimalRaw(); change(raw); return raw; };
const PEM = `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA${SECRET_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n`;

describe("secrets are never echoed (item 8)", () => {
  test.each<[string, (r: Raw) => void, string]>([
    ["a known secret key in plain env", (r) => (r.env = { REDIS_URL_WORKER: `rediss://:${SECRET_MARKER}@r:6380` }), "env.REDIS_URL_WORKER"],
    ["an env key also set in secrets", (r) => { r.env = { SHARED: SECRET_MARKER }; r.secrets.SHARED = SECRET_MARKER; }, "env.SHARED"],
    ["the SSH key pasted at ssh", (r) => (r.ssh = PEM), "ssh"],
    ["the SSH key pasted at ssh.publicKey", (r) => (r.ssh.publicKey = PEM), "ssh.publicKey"],
    ["a camelCase secret-looking key", (r) => (r.verify = { apiToken: SECRET_MARKER }), "verify.apiToken"],
    ["a secret value pasted at a plain path", (r) => (r.release.version = r.secrets.DATABASE_URL_WORKER), "release.version"],
  ])("%s is refused at %s without its value", (_situation, change, expectedPath) => {
    const problems = problemsOf(mutated(change));
    expect(problems.some((p) => p.startsWith(`${expectedPath}: `))).toBe(true);
    expect(problems.join("\n")).not.toContain(SECRET_MARKER);
  });

  test("under the program, a decrypted secure: value of any key is never shown", () => {
    const raw = mutated((r) => (r.release.version = `v1/${SECRET_MARKER}`));
    const all = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`zombie-fleet:${k}`, JSON.stringify(v)]));
    let error: ConfigError | undefined;
    try { loadFromPulumiConfig(all, (key) => key === "zombie-fleet:release" || key === "zombie-fleet:secrets", "t"); } catch (err) { error = err as ConfigError; }
    expect(error?.problems.map((p) => p.split(": ")[0])).toEqual(["release.version"]);
    expect(error?.message).not.toContain(SECRET_MARKER);
  });

  test("under the program, a value that is not JSON (a key pasted at ssh) is refused without quoting it", () => {
    const raw = minimalRaw();
    const all: Record<string, string> = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`zombie-fleet:${k}`, JSON.stringify(v)]));
    all["zombie-fleet:ssh"] = PEM; // Config#getObject would throw ConfigTypeError quoting it
    let error: ConfigError | undefined;
    try { loadFromPulumiConfig(all, (key) => key === "zombie-fleet:ssh", "t"); } catch (err) { error = err as ConfigError; }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems.some((p) => p.startsWith("ssh: "))).toBe(true);
    expect(error?.message).not.toContain(SECRET_MARKER);
  });
});

describe("stack files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-defects-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const RELEASE = `  zombie-fleet:release:
    version: v1
    worker: { url: "https://e.test/w", sha256: ${"a".repeat(64)} }
    executor: { url: "https://e.test/e", sha256: ${"b".repeat(64)} }
  zombie-fleet:ssh: { privateKey: { secure: v1:abc } }
  zombie-fleet:workers:
    - { name: w-a, host: { address: 10.0.0.1 } }
`;
  function load(extra: string): string[] {
    const file = path.join(dir, `Pulumi.t${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, `config:\n${RELEASE}${extra}`);
    return configProblems(() => loadStackFile(file));
  }

  test("a YAML alias cycle is refused with its path, not a stack overflow (item 9)", () => {
    expect(load("  zombie-fleet:env: &e { SELF: *e }\n")).toEqual([expect.stringMatching(/^env\.SELF: refers to itself through a YAML alias/)]);
  });

  test.each([
    ["zombie-fleet:drain:oops: { signal: SIGTERM }", '"zombie-fleet:drain:oops"'],
    ["drain: { signal: SIGTERM }", '"drain"'],
    ["zombie-flet:rollout: { waves: [1] }", '"zombie-flet:rollout"'],
  ])("the key of `%s` is refused as Pulumi's ParseKey or a typo would have it (item 10)", (line, expectedPath) => {
    const problems = load(`  ${line}\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`${expectedPath}: `)).toBe(true);
  });

  test("the legacy <namespace>:config:<name> form is read as Pulumi reads it", () => {
    expect(load("  zombie-fleet:config:drain: { signal: SIGTERM }\n")).toEqual([]);
  });
});

// [situation, path, change]: each is a value the program, the scripts or the hosts refuse (item 10).
const REFUSED: [string, string, (r: Raw) => void][] = [
  ["a NUL in an env value", "env.LOG_LEVEL", (r) => (r.env = { LOG_LEVEL: "a\0b" })],
  ["an env value over the kernel's limit", "env.BIG", (r) => (r.env = { BIG: "v".repeat(131072) })],
  ["a NUL in a secret", "secrets.DATABASE_URL_WORKER", (r) => (r.secrets.DATABASE_URL_WORKER = `x\0${SECRET_MARKER}`)],
  ["an errorPattern grep -E refuses", "verify.errorPattern", (r) => (r.verify = { errorPattern: "level=(error" })],
  ["an errorPattern that matches every line", "verify.errorPattern", (r) => (r.verify = { errorPattern: ".*" })],
  ["an empty errorPattern", "verify.errorPattern", (r) => (r.verify = { errorPattern: "" })],
  ["an errorPattern with an empty alternative", "verify.errorPattern", (r) => (r.verify = { errorPattern: "error|" })],
  ["a counter that is not a metric name", "verify.counters.failures", (r) => (r.verify = { counters: { failures: "failures total" } })],
  ["a public key with a second line", "ssh.publicKey", (r) => (r.ssh.publicKey = "ssh-ed25519 AAAAC3Nza a@b\nssh-ed25519 AAAAother evil")],
  ["a host address of -", "workers[0].host.address", (r) => (r.workers[0].host.address = "-")],
  ["a host address of :::::", "workers[0].host.address", (r) => (r.workers[0].host.address = ":::::")],
  ["a host address like an option", "workers[0].host.address", (r) => (r.workers[0].host.address = "-oProxyCommand=x")],
  ["a zero duration", "rollout.minHealthyTime", (r) => (r.rollout = { minHealthyTime: "0s" })],
  ["a huge duration", "rollout.canaryDeadline", (r) => (r.rollout = { canaryDeadline: "999999h" })],
  ["an infinite duration", "rollout.canaryDeadline", (r) => (r.rollout = { canaryDeadline: `${"9".repeat(400)}s` })],
  ["a drain deadline below the default RUN_TIMEOUT_MS", "rollout.drainDeadline", (r) => (r.rollout = { drainDeadline: "4m" })],
];

describe("what the program and the scripts refuse, the validation refuses (item 10)", () => {
  test.each(REFUSED)("%s → %s", (_situation, expectedPath, change) => {
    const problems = problemsOf(mutated(change));
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(`${expectedPath}: `)).toBe(true);
    expect(problems[0]).not.toContain(SECRET_MARKER);
  });

  test.each<[string, (r: Raw) => void]>([
    ["an IPv6 host", (r) => (r.workers[0].host.address = "2001:db8::1")],
    ["a DNS name host", (r) => (r.workers[0].host.address = "lab-worker-1.example.net")],
    ["a public key with a comment", (r) => (r.ssh.publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@fleet")],
    ["a 4m drain deadline with a 3m RUN_TIMEOUT_MS", (r) => { r.rollout = { drainDeadline: "4m" }; r.env = { RUN_TIMEOUT_MS: "180000" }; }],
    ["an errorPattern with classes and an interval", (r) => (r.verify = { errorPattern: "^level=(error|fatal) code=[[:digit:]]{3}" })],
    ["namespaced counter names", (r) => (r.verify = { counters: { sessions: "zombied:sessions_created_total" } })],
  ])("still accepts %s", (_situation, change) => {
    expect(problemsOf(mutated(change))).toEqual([]);
  });
});

describe("Object.prototype names are ordinary env keys (item 11)", () => {
  test.each(["toString", "constructor", "hasOwnProperty", "valueOf", "isPrototypeOf"])("env key %s is accepted and written", (key) => {
    const raw = mutated((r) => (r.env = JSON.parse(`{${JSON.stringify(key)}: "v1"}`)));
    expect(problemsOf(raw)).toEqual([]);
    const config = validateFleetConfig(raw, { source: "test", secretsRequired: true });
    expect(renderEnvFile(config)).toContain(`\n${key}="v1"\n`);
  });

  test("__proto__, which no JavaScript object holds as a key, is refused by name rather than dropped", () => {
    const problems = problemsOf(mutated((r) => (r.env = JSON.parse('{"__proto__": "v1"}'))));
    expect(problems).toEqual([expect.stringMatching(/^env\.__proto__: is a name JavaScript reserves/)]);
  });
});
