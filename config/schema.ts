// The stack config of a zombie fleet: one zod schema is the truth for types, defaults and cross-field rules.
// PURE: no Pulumi import. Loaders live in load.ts; errors are formatted there too.
import { isIP } from "node:net";
import { z } from "zod";
import { parseDuration } from "./duration";
import { ENV_NAME, envEntryProblem } from "./env-value";
import { checkErrorPattern } from "./ere";

/** Config keys under the `zombie-fleet:` namespace, in the order operators read them. */
export const CONFIG_KEYS = [
  "release", "rollout", "drain", "verify", "ssh", "tailscale", "units", "env", "secrets", "workers",
] as const;

/** Stands in for a `secure:` value that cannot be decrypted offline (the plan CLI). */
export const OPAQUE_SECRET = "[secret]";

// Signals `systemctl kill -s` accepts that make sense for a drain (signal(7)).
export const DRAIN_SIGNALS = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const;

// Keys zombied reads as secrets (facts/zombied.md) and names that look like one: these belong in `secrets`.
const KNOWN_SECRET_KEYS = new Set([
  "DATABASE_URL_WORKER", "REDIS_URL_WORKER", "GITHUB_APP_PRIVATE_KEY", "ENCRYPTION_MASTER_KEY",
]);
// Anywhere in the name and in any case, so `ssh.privateKey` and `apiToken` count too: a false positive only hides
// a value from messages, or asks for a value to move to secrets.
const SECRET_LOOKING_KEY = /SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_?KEY|MASTER_?KEY|API_?KEY|CREDENTIAL|_DSN$/i;

export function looksSecret(key: string): boolean {
  return KNOWN_SECRET_KEYS.has(key) || SECRET_LOOKING_KEY.test(key);
}

/**
 * zombied's RUN_TIMEOUT_MS when the env does not set it (facts/zombied.md); the worker unit sets the same default
 * (host/units.ts), so a drain deadline below it cuts runs that are still inside their timeout.
 */
export const DEFAULT_RUN_TIMEOUT_MS = 300000;

// Every duration feeds a script's whole-seconds input and a unit's milliseconds (DRAIN_TIMEOUT_MS): 0 would end a
// wait at once, and a huge one overflows into "1e+21" or never ends. A day bounds every wait a rollout has.
export const MAX_DURATION_SECONDS = 24 * 3600;
const duration = z.string().transform((text, ctx) => {
  const seconds = parseDuration(text);
  if (seconds === undefined || !(seconds >= 1 && seconds <= MAX_DURATION_SECONDS)) {
    ctx.addIssue({ code: "custom", message: 'must be a duration like "90s", "5m" or "1h", from 1s to 24h' });
    return z.NEVER;
  }
  return seconds;
});

const PERCENT = /^(\d{1,3})%$/;
/** A batch size: a positive integer, or a percentage of the fleet like "25%". */
const batchSize = z.unknown().superRefine((value, ctx) => {
  const percent = typeof value === "string" ? PERCENT.exec(value) : null;
  const ok = typeof value === "number"
    ? Number.isInteger(value) && value >= 1
    : percent !== null && Number(percent[1]) >= 1 && Number(percent[1]) <= 100;
  if (!ok) ctx.addIssue({ code: "custom", message: 'must be a positive integer or a percentage from "1%" to "100%"' });
}).transform((value) => value as BatchSize);
export type BatchSize = number | string;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters (a sha256 digest)");
const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL");
const artifact = z.strictObject({ url: httpUrl, sha256 });

const release = z.strictObject({
  version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, "must be a release name of letters, digits and . _ + - (a directory name)"),
  worker: artifact,
  executor: artifact,
});

const rollout = z.strictObject({
  canary: z.string().optional(),
  canaryRuns: z.number().int().min(1, "must be at least 1").default(3),
  canaryDeadline: duration.prefault("15m"),
  onCanaryShortfall: z.enum(["fail", "proceed"]).default("fail"),
  waves: z.array(batchSize).min(1, "must list at least one wave size").default([1, 2, "50%"]),
  maxUnavailable: batchSize.default("25%"),
  minHealthyTime: duration.prefault("30s"),
  drainDeadline: duration.prefault("6m"),
  onDrainDeadline: z.enum(["fail", "proceed"]).default("fail"),
  autoRevert: z.boolean().default(true),
  keepReleases: z.number().int().min(2, "must be at least 2 (the current release and one to revert to)").default(3),
});

const drain = z.strictObject({
  signal: z.enum(DRAIN_SIGNALS, { message: `must be one of ${DRAIN_SIGNALS.join(", ")}` }).default("SIGUSR1"),
  completeLog: z.string().min(1, "must not be empty").default("drain complete, 0 active runs"),
});

// Prometheus metric names (the exposition format's `[a-zA-Z_:][a-zA-Z0-9_:]*`); canary-gate.sh refuses any other.
const metricName = z.string().regex(/^[A-Za-z_:][A-Za-z0-9_:]*$/, "must be a Prometheus metric name (letters, digits, _ and :; not starting with a digit)");
const counters = z.strictObject({
  sessions: metricName.default("sessions_created_total"),
  failures: metricName.default("failures_total"),
  oomKills: metricName.default("oom_kills_total"),
  landlockDenials: metricName.default("landlock_denials_total"),
});

// `grep -E` on the hosts reads it (canary-gate.sh); a pattern that matches the empty string matches every line, so
// every canary would fail on its first log line.
const errorPattern = z.string().superRefine((pattern, ctx) => {
  const result = checkErrorPattern(pattern);
  if ("problem" in result) ctx.addIssue({ code: "custom", message: result.problem });
  else if (result.matchesEveryLine) ctx.addIssue({ code: "custom", message: "matches the empty string, so every log line; name what an error line holds, e.g. level=error" });
});

const verify = z.strictObject({
  command: z.string().min(1, "must not be empty").default("zombied doctor worker"),
  // `{host}` is replaced by the worker's name, for builds that serve metrics per host.
  metricsUrl: httpUrl.optional(),
  counters: counters.default(counters.parse({})),
  errorPattern: errorPattern.default("level=error|error_code="),
});

// The comment may hold any text but control characters (a second line would be a second key): the class is the point.
// eslint-disable-next-line no-control-regex
const PUBLIC_KEY_LINE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\x00-\x1f\x7f]*)?$/;

// With a pinned host key, pulumi-command offers only that key's type as host key algorithm (v1.2.1
// provider/pkg/provider/remote/connection.go, SSHConfig: HostKeyAlgorithms = [publicKey.Type()]); for an RSA key
// that is "ssh-rsa" (SHA-1), which OpenSSH 8.8 and later refuse by default, so every command would fail.
const hostKey = z.string().min(1).superRefine((value, ctx) => {
  if (/^ssh-rsa\s/.test(value)) {
    ctx.addIssue({ code: "custom", message: "is an ssh-rsa key, which cannot be pinned: pinning offers only the ssh-rsa (SHA-1) algorithm, refused by OpenSSH 8.8 and later; pin the host's ed25519 key instead (ssh-keyscan -t ed25519 <host>)" });
  } else if (!/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}(\s.*)?$/.test(value)) {
    ctx.addIssue({ code: "custom", message: 'must be an OpenSSH public key line like "ssh-ed25519 AAAA…" (ed25519 or ECDSA)' });
  }
});

const ssh = z.strictObject({
  user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name").default("root"),
  port: z.number().int().min(1).max(65535).default(22),
  privateKey: z.string().min(1, "must not be empty").optional(),
  // Installed on servers the fleet orders from OVH (the pair of privateKey).
  // One line: OVH installs it as given, and a second line would be a second authorized key.
  publicKey: z.string().regex(PUBLIC_KEY_LINE, "must be one OpenSSH public key line: type, base64 key, optional comment").optional(),
  hostKeys: z.record(z.string(), hostKey).default({}),
  // Each command dials dialErrorLimit + 1 times, perDialTimeout each (budget.ts): the defaults give up on an
  // unreachable host after about 40 s, not the provider's 3 minutes (10 retries of 15 s).
  dialErrorLimit: z.number().int().min(1, "must be at least 1 (the provider reads -1 as unlimited)").max(20).default(3),
  perDialTimeout: duration.pipe(z.number().min(1, "must be at least 1s").max(120, "must be at most 2m")).prefault("10s"),
});

const tailscale = z.strictObject({
  enabled: z.boolean().default(true),
  tags: z.array(z.string().regex(/^tag:[a-z0-9-]+$/, 'must look like "tag:zombie-worker"')).min(1).default(["tag:zombie-worker"]),
  // The auth key only has to live until the host joined.
  keyExpiry: duration.prefault("1h"),
});

const units = z.strictObject({
  // Restart the worker whenever the executor restarts on its own (systemd.unit(5) PartOf=).
  workerPartOfExecutor: z.boolean().default(false),
});

// Each entry as the worker gets it (env-value.ts): what the renderer cannot write is refused here, with the path.
const envMap = z.record(
  z.string().regex(ENV_NAME, "must be a shell-style variable name"),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
).superRefine((map, ctx) => {
  for (const [key, value] of Object.entries(map)) {
    const problem = envEntryProblem(key, value);
    if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
  }
});

// A DNS name (RFC 1123 labels, at most 253 characters, not all-numeric at the end) or an IPv4/IPv6 address: `-` or
// `:::::` would reach ssh as an option or an unparsable host.
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const hostAddress = z.string().refine(
  (s) => isIP(s) !== 0 || (DNS_NAME.test(s) && !/^\d+$/.test(s.slice(s.lastIndexOf(".") + 1))),
  "must be an IP address or DNS name",
);

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const ovhOrder = z.strictObject({
  plan: z.string().min(1),
  datacenter: z.string().min(1),
  os: z.string().min(1),
  subsidiary: z.string().regex(/^[A-Z]{2}$/, 'must be an OVH subsidiary like "CA" or "FR"').default("CA"),
  range: z.string().optional(),
  options: z.array(z.string()).default([]),
  duration: z.string().regex(/^P\d+[MY]$/, 'must be an ISO duration like "P1M"').default("P1M"),
});
const ovhSource = z.strictObject({
  serviceName: z.string().min(1).optional(),
  order: ovhOrder.optional(),
  // Adopted servers are never wiped; this asks for exactly one reinstall with this OS template.
  reinstall: z.strictObject({ os: z.string().min(1) }).optional(),
  // A monthly bare-metal contract is never cancelled by a `pulumi destroy` unless the worker says so.
  cancelServiceOnDestroy: z.boolean().default(false),
});
const worker = z.strictObject({
  name: z.string().regex(HOSTNAME, "must be a lowercase hostname label (a-z, 0-9, -; at most 63)"),
  ovh: ovhSource.optional(),
  host: z.strictObject({ address: hostAddress }).optional(),
  canary: z.boolean().default(false),
  hold: z.union([z.boolean(), z.string().min(1)]).default(false),
  // The host is already gone (dead, cancelled): its decommission is skipped, so removing it cannot block `pulumi up`.
  gone: z.boolean().default(false),
});

export const fleetSchema = z.strictObject({
  release,
  rollout: rollout.default(rollout.parse({})),
  drain: drain.default(drain.parse({})),
  verify: verify.default(verify.parse({})),
  ssh: ssh.default(ssh.parse({})),
  tailscale: tailscale.default(tailscale.parse({})),
  units: units.default(units.parse({})),
  env: envMap.default({}),
  secrets: envMap.default({}),
  workers: z.array(worker).min(1, "must list at least one worker"),
}).superRefine(crossFieldRules, { when: (payload) => crossFieldReady(payload.value) });

// Zod skips refinements once any field failed, so an operator would fix the field errors and only then learn of
// the cross-field ones. These rules run whenever the parts they read have the right shape: every problem at once.
function crossFieldReady(value: unknown): boolean {
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObject(value) || !isObject(value.rollout) || !isObject(value.ssh)) return false;
  return Array.isArray(value.workers) && value.workers.every((w) => isObject(w) && typeof w.name === "string") &&
    Array.isArray(value.rollout.waves) && isObject(value.ssh.hostKeys) && isObject(value.env) && isObject(value.secrets);
}

type Parsed = z.output<typeof fleetSchema>;
type ParsedWorker = Parsed["workers"][number];

/** Where a worker's host comes from. */
export type HostSource =
  | { kind: "adopt"; serviceName: string; reinstallOs?: string; cancelServiceOnDestroy: boolean }
  | { kind: "order"; order: z.output<typeof ovhOrder>; cancelServiceOnDestroy: boolean }
  | { kind: "existing"; address: string };

export interface WorkerConfig {
  name: string;
  source: HostSource;
  canary: boolean;
  /** Why this worker is held out of rollouts, or undefined when it takes part. */
  hold?: string;
  /** The host no longer exists: nothing runs on it, and its removal skips the drain (see README, scale-in). */
  gone: boolean;
}

export type FleetConfig = Omit<Parsed, "workers"> & { workers: WorkerConfig[] };

// Cross-field rules run even when some fields failed their own checks (`when` below), so that every problem is
// reported at once. They therefore read the config defensively: a field with the wrong type is skipped here,
// having been reported on its own path already.
type Unparsed = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const asObject = (v: unknown): Unparsed => (v && typeof v === "object" && !Array.isArray(v) ? (v as Unparsed) : {});
const asList = (v: unknown): Unparsed[] => (Array.isArray(v) ? v.map(asObject) : []);
type Problem = (path: (string | number)[], message: string) => void;

function crossFieldRules(input: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const problem: Problem = (path, message) => ctx.addIssue({ code: "custom", path, message });
  const cfg = asObject(input);
  const rollout = asObject(cfg.rollout);
  const ssh = asObject(cfg.ssh);
  const workers = asList(cfg.workers);
  const names = new Map<string, number>();
  workers.forEach((w, i) => {
    if (typeof w.name === "string") {
      if (names.has(w.name)) problem(["workers", i, "name"], `duplicates workers[${names.get(w.name)}].name`);
      else names.set(w.name, i);
    }
    workerSourceRules(w, typeof ssh.publicKey === "string", (path, msg) => problem(["workers", i, ...path], msg));
  });
  const isHeld = (w: Unparsed) => (w.hold !== undefined && w.hold !== false) || w.gone === true;
  const canaries = workers.flatMap((w, i) => (w.canary === true ? [i] : []));
  if (canaries.length > 1) problem(["workers", canaries[1], "canary"], `only one worker can be the canary (workers[${canaries[0]}] is already)`);
  if (canaries.length && isHeld(workers[canaries[0]])) {
    problem(["workers", canaries[0], "canary"], "is set on a held worker; a held worker cannot be the canary");
  }
  if (typeof rollout.canary === "string") {
    const i = names.get(rollout.canary);
    if (i === undefined) problem(["rollout", "canary"], "must name a worker in workers");
    else if (isHeld(workers[i])) problem(["rollout", "canary"], "names a held worker; a held worker cannot be the canary");
    if (canaries.length && workers[canaries[0]].name !== rollout.canary) {
      problem(["workers", canaries[0], "canary"], "disagrees with rollout.canary; set the canary in one place");
    }
  }
  for (const name of Object.keys(asObject(ssh.hostKeys))) {
    if (!names.has(name)) problem(["ssh", "hostKeys", name], "names no worker in workers");
  }
  const env = asObject(cfg.env);
  const secrets = asObject(cfg.secrets);
  for (const key of Object.keys(env)) {
    if (Object.hasOwn(secrets, key)) problem(["env", key], "is also set in secrets; keep each key in one place");
    else if (looksSecret(key)) problem(["env", key], "looks like a secret; move it to secrets (pulumi config set --secret --path 'secrets." + key + "')");
  }
  drainCoversRunTimeout(env.RUN_TIMEOUT_MS, rollout.drainDeadline, problem);
  wavesWithinCap(rollout, problem);
}

function workerSourceRules(w: Unparsed, hasPublicKey: boolean, problem: Problem): void {
  if ((w.ovh === undefined) === (w.host === undefined)) {
    problem([], "must have exactly one of ovh (an OVH server) or host (an existing host)");
    return;
  }
  const ovh = w.ovh === undefined ? undefined : asObject(w.ovh);
  if (ovh && (ovh.serviceName === undefined) === (ovh.order === undefined)) {
    problem(["ovh"], "must have exactly one of serviceName (adopt a server) or order (order a new one)");
  }
  if (ovh?.order && !hasPublicKey) {
    problem(["ovh", "order"], "needs ssh.publicKey, the key OVH installs on the new server");
  }
  if (ovh?.reinstall && !ovh.order && !hasPublicKey) {
    problem(["ovh", "reinstall"], "needs ssh.publicKey, the key OVH installs on the reinstalled server");
  }
  if (ovh?.order && ovh.reinstall) {
    problem(["ovh", "reinstall"], "only applies to an adopted server (ovh.serviceName); an ordered one is installed with order.os");
  }
}

function drainCoversRunTimeout(runTimeout: unknown, drainDeadline: unknown, problem: Problem): void {
  const raw = runTimeout === undefined ? undefined : String(runTimeout);
  if (raw !== undefined && !/^\d+$/.test(raw)) {
    problem(["env", "RUN_TIMEOUT_MS"], "must be a whole number of milliseconds");
    return;
  }
  const ms = raw === undefined ? DEFAULT_RUN_TIMEOUT_MS : Number(raw);
  if (typeof drainDeadline === "number" && drainDeadline * 1000 < ms) {
    const what = raw === undefined ? `zombied's default RUN_TIMEOUT_MS (${ms} ms; env does not set it)` : `env.RUN_TIMEOUT_MS (${raw} ms)`;
    problem(["rollout", "drainDeadline"], `must be at least ${what}, or a run still inside its timeout is cut by the drain`);
  }
}

// Only an absolute cap contradicts a fixed wave size. Under a percentage cap (the default "25%") the cap grows with
// the fleet, so a small fleet would reject the default waves [1, 2, "50%"]; the planner caps and warns instead.
function wavesWithinCap(rollout: Unparsed, problem: Problem): void {
  const cap = rollout.maxUnavailable;
  if (typeof cap !== "number" || !(cap >= 1)) return; // a bad cap is reported on its own path
  (Array.isArray(rollout.waves) ? rollout.waves : []).forEach((size: unknown, i: number) => {
    if (typeof size === "number" && size > cap) {
      problem(["rollout", "waves", i], `is larger than rollout.maxUnavailable (${cap}); lower the wave or raise the cap`);
    }
  });
}

/** A batch size resolved against a host count: Ansible `serial` rules (percent rounds down, at least 1). */
export function resolveBatch(size: BatchSize, total: number): number {
  if (typeof size === "number") return size;
  const percent = Number(PERCENT.exec(size)?.[1] ?? 100);
  return Math.max(1, Math.floor((total * percent) / 100));
}

/** Turns a schema-valid worker entry into its explicit host source. */
export function toWorkerConfig(w: ParsedWorker): WorkerConfig {
  const hold = w.gone ? "host is gone (gone: true)" : w.hold === false ? undefined : w.hold === true ? "held in config" : w.hold;
  return { name: w.name, canary: w.canary, hold, gone: w.gone, source: hostSource(w) };
}

function hostSource(w: ParsedWorker): HostSource {
  if (w.host) return { kind: "existing", address: w.host.address };
  const ovh = w.ovh!;
  if (ovh.order) return { kind: "order", order: ovh.order, cancelServiceOnDestroy: ovh.cancelServiceOnDestroy };
  return {
    kind: "adopt", serviceName: ovh.serviceName!, reinstallOs: ovh.reinstall?.os,
    cancelServiceOnDestroy: ovh.cancelServiceOnDestroy,
  };
}
