// Fuzz of every config path (issue #11, item 8): ≥ 1,000 mutated stack files, seeded, go through both loaders —
// the plan's (stack file → plan in every format, and against the unmutated file as --base) and the program's
// (the engine's config map with decrypted `secure:` values). None may crash, and no message or plan output may
// hold a secret marker: every secret in the base file and every secret a mutation adds carries one.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, expect, test } from "vitest";
import { stringify } from "yaml";
import { ConfigError, loadFromPulumiConfig, loadStackFile } from "../../config/load";
import { compareStacks, stackSnapshot } from "../../plan/diff";
import { FORMATS, renderPlan } from "../../plan/render/format";
import { buildReport } from "../../plan/report";

const MARK = "SECRETMARK";
const RUNS = 1200;
const REDIS = `rediss://:${MARK}-plain-redis@r:6380`;
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function baseStack(): Json {
  return {
    config: {
      "ovh:endpoint": "ovh-ca",
      "zombie-fleet:release": {
        version: "v2",
        worker: { url: "https://e.test/w.tgz", sha256: "a".repeat(64) },
        executor: { url: "https://e.test/e.tgz", sha256: "b".repeat(64) },
      },
      "zombie-fleet:rollout": { canary: "w-a", waves: [1, "50%"], drainDeadline: "6m" },
      "zombie-fleet:verify": { metricsUrl: "http://127.0.0.1:9100/metrics", errorPattern: "level=error" },
      "zombie-fleet:ssh": { user: "root", privateKey: { secure: `v1:${MARK}-ct-key` }, publicKey: "ssh-ed25519 AAAAC3Nza ops" },
      "zombie-fleet:tailscale": { enabled: false },
      "zombie-fleet:env": { LOG_LEVEL: "info", RUN_TIMEOUT_MS: "300000" },
      "zombie-fleet:secrets": {
        DATABASE_URL_WORKER: { secure: `v1:${MARK}-ct-db` },
        REDIS_URL_WORKER: REDIS,
      },
      "zombie-fleet:workers": [
        { name: "w-a", host: { address: "10.0.0.1" } },
        { name: "w-b", ovh: { serviceName: "ns1.example.net" } },
        { name: "w-c", host: { address: "w-c.example.net" }, hold: "OPS-1" },
      ],
    },
  };
}

/** Every path to a node of the document (objects and arrays included), for mutations to aim at. */
function paths(node: Json, at: (string | number)[] = [], out: (string | number)[][] = [], seen = new Set<Json>()): (string | number)[][] {
  out.push(at);
  if (node && typeof node === "object" && !seen.has(node)) {
    seen.add(node);
    for (const [k, v] of Object.entries(node)) paths(v, [...at, Array.isArray(node) ? Number(k) : k], out, seen);
  }
  return out;
}

// Secret wherever they are: a `secure:` value, a private key.
const secretAnywhere = (n: number) => fc.constantFrom<Json>(
  { secure: `v1:${MARK}-ct-${n}` }, `-----BEGIN OPENSSH PRIVATE KEY-----\n${MARK}-${n}\n-----END OPENSSH PRIVATE KEY-----\n`,
);
// Secret because of where they are put: under secrets, ssh.privateKey or a key that looks secret.
const secretValue = (n: number) => fc.oneof(secretAnywhere(n), fc.constantFrom<Json>(
  `${MARK}-${n}`, [`${MARK}-${n}`], { nested: `${MARK}-${n}` }, `a\0${MARK}-${n}`, `${MARK}-${n}`.repeat(5000), 12345678,
));
const plainValue = fc.oneof(
  fc.constantFrom<Json>(null, true, 0, -1, 1e308, "", "0s", "9999999h", ".*", "(", "-", ":::::", "a\0b", "x".repeat(140000),
    "toString", "constructor", "__proto__", [], {}, [1, 2], { a: 1 }, "zombie-fleet:drain:oops", "[secret]"),
  fc.string({ maxLength: 12 }), fc.integer(), fc.double(),
);
const secretKey = fc.constantFrom("API_TOKEN", "apiToken", "password", "SECRET", "PRIVATE_KEY", "privateKey", "DB_PASSWORD");
const key = fc.constantFrom("toString", "constructor",
  "__proto__", "LOG_LEVEL", "RUN_TIMEOUT_MS", "bad-key", "", "name", "secure", "zombie-fleet:drain:oops",
  "zombie-flet:rollout", "drain", "zombie-fleet:config:verify", "zombie-fleet:env");

type Mutation = (doc: Json, pick: number, n: number) => void;
const target = (doc: Json, pick: number, objectsOnly: boolean) => {
  const all = paths(doc).filter((p) => {
    const node = p.reduce((o: Json, k) => o?.[k], doc);
    return !objectsOnly || (node && typeof node === "object");
  });
  const at = all[pick % all.length];
  return { at, parent: at.slice(0, -1).reduce((o: Json, k) => o?.[k], doc), last: at[at.length - 1], node: at.reduce((o: Json, k) => o?.[k], doc) };
};
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  plainValue.map((v): Mutation => (doc, pick) => { const t = target(doc, pick, false); if (t.parent) t.parent[t.last] = v; }),
  fc.nat().chain((n) => secretAnywhere(n)).map((v): Mutation => (doc, pick) => { const t = target(doc, pick, false); if (t.parent) t.parent[t.last] = v; }),
  fc.tuple(fc.boolean(), key, fc.nat()).chain(([ssh, k, n]) => secretValue(n).map((v): Mutation => (doc) => {
    const section = doc.config?.[ssh ? "zombie-fleet:ssh" : "zombie-fleet:secrets"];
    if (section && typeof section === "object" && !Array.isArray(section)) section[ssh ? "privateKey" : k] = v;
  })),
  fc.tuple(secretKey, fc.nat()).chain(([k, n]) => secretValue(n).map((v): Mutation => (doc, pick) => {
    const t = target(doc, pick, true); if (t.node && !Array.isArray(t.node)) t.node[k] = v;
  })),
  fc.tuple(key, plainValue).map(([k, v]): Mutation => (doc, pick) => { const t = target(doc, pick, true); if (t.node && !Array.isArray(t.node)) t.node[k] = v; }),
  fc.constant<Mutation>((doc, pick) => { const t = target(doc, pick, false); if (t.parent && t.at.length > 1) delete t.parent[t.last]; }),
  // A secret copied to a plain path (applied last, and only while it is still a secret), and an alias back to an
  // ancestor (a cycle).
  fc.constant<Mutation>(Object.assign((doc: Json, pick: number) => {
    if (doc.config?.["zombie-fleet:secrets"]?.REDIS_URL_WORKER !== REDIS) return;
    const t = target(doc, pick, false);
    if (t.parent && t.at.length > 2 && !(t.at[1] === "zombie-fleet:secrets" && t.at[2] === "REDIS_URL_WORKER")) t.parent[t.last] = REDIS;
  }, { late: true })),
  fc.constant<Mutation>((doc, pick) => { const t = target(doc, pick, true); if (t.node && t.at.length > 1) t.node.SELF = t.parent ?? doc; }),
);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zombie-fuzz-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const baseFile = path.join(dir, "Pulumi.base.yaml");
fs.writeFileSync(baseFile, stringify(baseStack()));

/** The plan loader: a ConfigError's text, or every rendering of the plan. Anything else thrown is a crash. */
function throughPlan(file: string): string {
  try {
    const head = loadStackFile(file);
    const reasons = compareStacks(stackSnapshot(loadStackFile(baseFile)), stackSnapshot(head), "base");
    return FORMATS.map((format) => renderPlan(buildReport("fuzz", file, head, reasons), format)).join("\n");
  } catch (err) {
    if (err instanceof ConfigError) return `${err.message}\n${err.problems.join("\n")}`;
    throw err;
  }
}

/** The program loader: `secure:` values decrypted (as markers), their keys marked secret, as the engine passes them. */
function throughProgram(doc: Json): string {
  const all: Record<string, string> = {};
  const secret = new Set<string>();
  const decrypt = (v: Json, key: string): Json => {
    if (Array.isArray(v)) return v.map((x) => decrypt(x, key));
    if (v && typeof v === "object") {
      if (Object.keys(v).length === 1 && typeof v.secure === "string") { secret.add(key); return `${MARK}-plain-${v.secure}`; }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decrypt(x, key)]));
    }
    return v;
  };
  let config: Json;
  try {
    config = JSON.parse(JSON.stringify(doc.config ?? {})); // the engine's map is JSON: no cycles reach the program
  } catch {
    return "";
  }
  if (!config || typeof config !== "object") return "";
  for (const [k, v] of Object.entries(config)) {
    const plain = decrypt(v, k);
    all[k] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  try {
    loadFromPulumiConfig(all, (k) => secret.has(k), "fuzz");
    return "";
  } catch (err) {
    if (err instanceof ConfigError) return `${err.message}\n${err.problems.join("\n")}`;
    throw err;
  }
}

test(`${RUNS} mutated stack files: no crash, no secret in any message or plan output`, () => {
  let files = 0;
  let refused = 0;
  fc.assert(fc.property(fc.array(fc.tuple(mutation, fc.nat()), { minLength: 1, maxLength: 4 }), (mutations) => {
    const doc = baseStack();
    const late = (m: Mutation) => ("late" in m ? 1 : 0);
    [...mutations].sort(([a], [b]) => late(a) - late(b)).forEach(([mutate, pick], i) => mutate(doc, pick, i));
    const text = stringify(doc, { aliasDuplicateObjects: true });
    const file = path.join(dir, "Pulumi.fuzz.yaml");
    fs.writeFileSync(file, text);
    files++;
    const planOutput = throughPlan(file);
    if (planOutput.startsWith("invalid stack config")) refused++;
    expect(planOutput).not.toContain(MARK);
    expect(throughProgram(doc)).not.toContain(MARK);
  }), { seed: 20261202, numRuns: RUNS, endOnFailure: true });
  expect(files).toBeGreaterThanOrEqual(1000);
  expect(refused).toBeGreaterThan(RUNS / 4); // the mutations reached the validation, not only harmless paths
  expect(files - refused).toBeGreaterThan(10); // and some still planned
}, 600_000);
