// Loading and validating stack config, from the Pulumi runtime or from a stack YAML file. PURE (no Pulumi import:
// the program hands in `pulumi.Config#getObject`). Every problem is reported at once, each as
// `<config path>: <what is wrong> (got <value>)`, with secret values shown as [secret].
import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { FleetConfig, OPAQUE_SECRET, fleetSchema, toWorkerConfig } from "./schema";
import { NAMESPACE, sortConfigKeys } from "./keys";
import { Redactor, misplacedSecrets } from "./redact";

export { NAMESPACE } from "./keys";

/** Bad stack config: `problems` holds one line per problem, in path order. */
export class ConfigError extends Error {
  constructor(readonly problems: string[], readonly source: string) {
    super(`invalid stack config in ${source}:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export interface LoadOptions {
  /** Where the config came from, for messages (a stack name or file path). */
  source: string;
  /** False when secrets may come from an ESC environment this loader cannot read (the offline CLI). */
  secretsRequired: boolean;
  /** Short keys (`ssh`, `secrets`) whose whole value is a decrypted secret: nothing under them is ever shown. */
  secretKeys?: ReadonlySet<string>;
  /** Problems already found in the config keys themselves (config/keys.ts), reported with the rest. */
  keyProblems?: string[];
}

/** Validates raw config keyed by short name (`release`, `workers`, …) into a FleetConfig, or throws ConfigError. */
export function validateFleetConfig(raw: Record<string, unknown>, options: LoadOptions): FleetConfig {
  const redactor = new Redactor(raw, options.secretKeys);
  const result = fleetSchema.safeParse(raw);
  const problems = [...(options.keyProblems ?? [])];
  if (!result.success) problems.push(...result.error.issues.flatMap((issue) => describeIssue(issue, raw, redactor)));
  for (const path of misplacedSecrets(raw, redactor)) {
    problems.push(`${formatPath(path)}: holds a private key or a secret's value, which the plan would print; it belongs in ssh.privateKey or secrets (got ${OPAQUE_SECRET})`);
  }
  // `__proto__` is the one key a JavaScript object cannot hold as data: zod's record silently drops it.
  for (const section of ["env", "secrets"]) {
    if (isMapping(raw[section]) && Object.hasOwn(raw[section], "__proto__")) {
      problems.push(`${formatPath([section, "__proto__"])}: is a name JavaScript reserves, so it cannot be passed on; rename it (got ${redactor.show([section, "__proto__"], raw[section].__proto__)})`);
    }
  }
  const ssh = raw.ssh;
  if (options.secretsRequired && !(ssh && typeof ssh === "object" && Object.hasOwn(ssh, "privateKey"))) {
    problems.push(`ssh.privateKey: is required to reach the hosts; set it with \`pulumi config set --secret --path 'ssh.privateKey' < key\` (got nothing)`);
  }
  if (problems.length || !result.success) {
    throw new ConfigError([...new Set(problems.map((p) => redactor.scrub(p)))].sort(byPath), options.source);
  }
  return { ...result.data, workers: result.data.workers.map(toWorkerConfig) };
}

/**
 * The program's loader. `all` is the engine's whole config map (`pulumi.runtime.allConfig()`: full key → string,
 * objects JSON-encoded), so keys outside our namespace are checked as the plan checks them; `isSecret` tells which
 * keys hold a decrypted `secure:` value. Values are parsed here, not with `Config#getObject`, whose error for a
 * value that is not JSON quotes the value (ConfigTypeError in @pulumi/pulumi config.ts): a pasted key would be shown.
 */
export function loadFromPulumiConfig(all: Record<string, string>, isSecret: (key: string) => boolean, stack: string): FleetConfig {
  const { ours, problems } = sortConfigKeys(Object.entries(all));
  const raw: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [name, { key, value }] of ours) {
    raw[name] = parseConfigValue(value);
    if (isSecret(key)) secretKeys.add(name);
  }
  return validateFleetConfig(raw, { source: `stack ${stack}`, secretsRequired: true, secretKeys, keyProblems: problems });
}

/** What `Config#getObject` returns for a value, except that a value that is not JSON stays the string it is. */
function parseConfigValue(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export interface StackFile {
  config: FleetConfig;
  /** ESC environments the stack imports: secrets may come from there, unseen offline. */
  environments: string[];
  /** This program's keys by short name (`rollout`), their values as written (`secure:` ciphertexts included). */
  written: Record<string, unknown>;
}

/** The CLI's loader: reads `Pulumi.<stack>.yaml`; `secure:` values stay opaque ([secret]). */
export function loadStackFile(path: string): StackFile {
  const { written, environments, keyProblems } = readStackFile(path);
  const raw = Object.fromEntries(Object.entries(written).map(([name, value]) => [name, opaqueSecrets(value)]));
  const config = validateFleetConfig(raw, { source: path, secretsRequired: environments.length === 0, keyProblems });
  return { config, environments, written };
}

/**
 * The one reader of stack files (the plan, its --base, the lab): this program's keys by short name with their
 * values as written, the ESC environments imported, and the keys Pulumi or this program refuses. Not validated.
 */
export function readStackFile(path: string): Omit<StackFile, "config"> & { keyProblems: string[] } {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError([`${path}: cannot be read as YAML: ${(err as Error).message.split("\n")[0]}`], path);
  }
  const top = (isMapping(doc) ? doc : {}) as { config?: unknown; environment?: unknown };
  const cycle = cyclePath(top, []);
  // An alias to its own ancestor (`env: &e {SELF: *e}`) is a value without end: nothing below could walk it.
  if (cycle) throw new ConfigError([`${describeDocPath(cycle)}: refers to itself through a YAML alias; write the value out (got a cycle)`], path);
  if (top.config !== undefined && top.config !== null && !isMapping(top.config)) {
    throw new ConfigError([`config: must be a mapping of <namespace>:<name> keys (got ${Array.isArray(top.config) ? "a list" : typeof top.config})`], path);
  }
  const environments = Array.isArray(top.environment) ? top.environment.map(String) : [];
  const { ours, problems } = sortConfigKeys(Object.entries((top.config ?? {}) as Record<string, unknown>));
  const written = Object.fromEntries([...ours].map(([name, { value }]) => [name, value]));
  return { written, environments, keyProblems: problems };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The path to the first node that contains one of its ancestors, or undefined. */
function cyclePath(value: unknown, path: PropertyKey[], ancestors = new Set<unknown>()): PropertyKey[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (ancestors.has(value)) return path;
  ancestors.add(value);
  for (const [key, child] of Object.entries(value)) {
    const found = cyclePath(child, [...path, Array.isArray(value) ? Number(key) : key], ancestors);
    if (found) return found;
  }
  ancestors.delete(value);
  return undefined;
}

/** `["config", "zombie-fleet:env", "SELF"]` → `env.SELF`; other keys keep their namespace. */
function describeDocPath(path: PropertyKey[]): string {
  if (path[0] !== "config" || path.length < 2) return formatPath(path);
  const key = String(path[1]);
  const short = key.startsWith(`${NAMESPACE}:`) ? key.slice(NAMESPACE.length + 1) : key;
  return formatPath([short, ...path.slice(2)]);
}

/** Replaces every `{ secure: … }` with OPAQUE_SECRET: ciphertext is never shown and cannot be checked offline. */
function opaqueSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(opaqueSecrets);
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === "secure") return OPAQUE_SECRET;
    return Object.fromEntries(entries.map(([k, v]) => [k, opaqueSecrets(v)]));
  }
  return value;
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, raw: Record<string, unknown>, redactor: Redactor): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key (got ${key})`);
  }
  const path = issue.path as (string | number)[];
  const value = valueAt(raw, path);
  return [`${formatPath(path)}: ${issueMessage(issue, value)} (got ${redactor.show(path, value)})`];
}

function issueMessage(issue: Issue, value: unknown): string {
  if (issue.message.startsWith("must") || issue.message.startsWith("is ") || issue.code === "custom") return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return value === undefined ? "is required" : `must be ${article(issue.expected)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      if (issue.origin === "array") return `must have at least ${issue.minimum} entries`;
      return `must be at least ${issue.minimum}`;
    case "too_big":
      return `must be at most ${issue.maximum}`;
    case "invalid_union":
      return "has the wrong type";
    case "invalid_key": // a bad record key (env, secrets): zod's own text is "Invalid key in record"
      return issue.issues[0]?.message ?? issue.message;
    default:
      return issue.message;
  }
}

function article(type: string): string {
  return type === "object" || type === "array" ? `an ${type}` : `a ${type}`;
}

/** `["workers", 2, "name"]` → `workers[2].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === "number") return `${out}[${part}]`;
    const key = String(part);
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return `${out}[${JSON.stringify(key)}]`;
    return out ? `${out}.${key}` : key;
  }, "") || "(top level)";
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    // Own properties only: env.toString is a key the operator set, or nothing, never Object.prototype's.
    if (!Object.hasOwn(node, part)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function byPath(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
