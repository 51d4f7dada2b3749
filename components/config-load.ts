// Loading and validating stack config, from the Pulumi runtime or from a stack YAML file. PURE (no Pulumi import:
// the program hands in `pulumi.Config#getObject`). Every problem is reported at once, each as
// `<config path>: <what is wrong> (got <value>)`, with secret values shown as [secret].
import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { CONFIG_KEYS, FleetConfig, OPAQUE_SECRET, fleetSchema, toWorkerConfig } from "./config";

export const NAMESPACE = "zombie-fleet";

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
}

/** Validates raw config keyed by short name (`release`, `workers`, …) into a FleetConfig, or throws ConfigError. */
export function validateFleetConfig(raw: Record<string, unknown>, options: LoadOptions): FleetConfig {
  const result = fleetSchema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.flatMap((issue) => describeIssue(issue, raw));
  if (options.secretsRequired && (raw.ssh as { privateKey?: unknown } | undefined)?.privateKey === undefined) {
    problems.push(`ssh.privateKey: is required to reach the hosts; set it with \`pulumi config set --secret --path 'ssh.privateKey' < key\` (got nothing)`);
  }
  if (problems.length || !result.success) throw new ConfigError([...new Set(problems)].sort(byPath), options.source);
  return { ...result.data, workers: result.data.workers.map(toWorkerConfig) };
}

/** The program's loader: `get` is `pulumi.Config#getObject` of the `zombie-fleet` namespace. */
export function loadFromPulumiConfig(get: (key: string) => unknown, stack: string): FleetConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = get(key);
    if (value !== undefined) raw[key] = value;
  }
  return validateFleetConfig(raw, { source: `stack ${stack}`, secretsRequired: true });
}

export interface StackFile {
  config: FleetConfig;
  /** ESC environments the stack imports: secrets may come from there, unseen offline. */
  environments: string[];
}

/** The CLI's loader: reads `Pulumi.<stack>.yaml`; `secure:` values stay opaque ([secret]). */
export function loadStackFile(path: string): StackFile {
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError([`${path}: cannot be read as YAML: ${(err as Error).message.split("\n")[0]}`], path);
  }
  const top = (doc ?? {}) as { config?: Record<string, unknown>; environment?: unknown };
  const environments = Array.isArray(top.environment) ? top.environment.map(String) : [];
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(top.config ?? {})) {
    const [namespace, name] = key.includes(":") ? key.split(":", 2) : [NAMESPACE, key];
    if (namespace !== NAMESPACE) continue; // provider config such as ovh:endpoint is not ours to check
    if (!(CONFIG_KEYS as readonly string[]).includes(name)) {
      problems.push(`${name}: unknown config key; known keys are ${CONFIG_KEYS.join(", ")} (got ${key})`);
      continue; // reported here once; the schema would report it again as an unknown key
    }
    raw[name] = opaqueSecrets(value);
  }
  try {
    const config = validateFleetConfig(raw, { source: path, secretsRequired: environments.length === 0 });
    if (problems.length) throw new ConfigError(problems, path);
    return { config, environments };
  } catch (err) {
    if (err instanceof ConfigError && problems.length) throw new ConfigError([...problems, ...err.problems].sort(byPath), path);
    throw err;
  }
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

function describeIssue(issue: Issue, raw: Record<string, unknown>): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key (got ${key})`);
  }
  const path = issue.path as (string | number)[];
  const value = valueAt(raw, path);
  return [`${formatPath(path)}: ${issueMessage(issue, value)} (got ${showValue(path, value)})`];
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
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

/** Secret config paths: their values are never printed. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return path[0] === "secrets" || (path[0] === "ssh" && path[1] === "privateKey");
}

function showValue(path: readonly PropertyKey[], value: unknown): string {
  if (value === undefined) return "nothing";
  if (isSecretPath(path) || value === OPAQUE_SECRET) return OPAQUE_SECRET;
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function byPath(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}
