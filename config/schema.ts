// The stack config of a zombie fleet: one zod schema is the truth for types, defaults and (with rules.ts, which it
// runs) cross-field rules.
// PURE: no Pulumi import. Loaders live in load.ts; errors are formatted there too.
import { isIP } from "node:net";
import { z } from "zod";
import { parseDuration } from "./duration";
import { ENV_NAME, envEntryProblem } from "./env-value";
import { checkErrorPattern } from "./ere";
import { crossFieldReady, crossFieldRules } from "./rules";

/** Config keys under the `zombie-fleet:` namespace, in the order operators read them. */
export const CONFIG_KEYS = [
  "release", "rollout", "drain", "verify", "ssh", "tailscale", "units", "env", "secrets", "workers",
] as const;

/** Stands in for a `secure:` value that cannot be decrypted offline (the plan CLI). */
export const OPAQUE_SECRET = "[secret]";

// Signals `systemctl kill -s` accepts that make sense for a drain (signal(7)).
export const DRAIN_SIGNALS = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const;

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

// A release names a directory on the hosts (deploy.sh checks the same rule).
const releaseName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, "must be a release name of letters, digits and . _ + - (a directory name)");
const release = z.strictObject({
  version: releaseName,
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
  // `manual`: an `up` rolls out the canary and its gate and stops; the waves follow once `promoted` names the
  // release. Naming the release, not a switch, makes a promotion lapse by itself with the next release (rollout-mode.ts).
  promote: z.enum(["auto", "manual"]).default("auto"),
  promoted: releaseName.optional(),
  // "release.version is a rollback": no canary gate, the largest waves maxUnavailable allows; only while
  // release.version is this release, so it cannot carry over to the next one (rollout-mode.ts).
  rollback: releaseName.optional(),
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
