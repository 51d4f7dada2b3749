// THE STEP CONTRACT: the remote steps of a host, their order, the time bounds of every wait a script makes, each
// step's budget in the plan, and every input each script takes, with its unit and where its value comes from.
// PURE. The planner, the input builder (step-inputs.ts), the command specs (commands.ts), the fingerprint and the
// plan's reasons read it; the scripts in host-scripts/ take every input from it (no defaults of their own) and
// declare the same names in their `# Inputs:` header (test/unit/step-contract.test.ts holds both to it).
import type { FleetConfig } from "../config/schema";
import { EXECUTOR_SOCKET, EXECUTOR_UNIT, WORKER_ENV_FILE, WORKER_UNIT, ZOMBIE_ROOT, workerStopTimeoutSeconds } from "./units";

/** The remote steps of a host's rollout chain, in order; the canary runs the gate after them. */
export const ROLLOUT_STEPS = ["drain", "stop", "deploy", "restart-executor", "start-worker", "verify"] as const;
export const CANARY_GATE = "canary-gate" as const;
export type StepName = (typeof ROLLOUT_STEPS)[number] | typeof CANARY_GATE;

/** The steps whose inputs decide how a worker is taken down, brought back and judged (the fingerprint's contract). */
export const CONTRACT_STEPS: readonly StepName[] = ["drain", "stop", "restart-executor", "start-worker", "verify"];

/** The step scripts (host-scripts/<name>.sh): the host's setup, its rollout chain, and its removal. */
export const SCRIPT_NAMES = [
  "layout", "write-env", "install-units", "tailscale-join", ...ROLLOUT_STEPS, CANARY_GATE, "decommission",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Fixed bounds (seconds) of the waits that have no deadline in config; each reaches its script as an input. */
export const STEP_BOUNDS = {
  stop: 60,
  deploy: 600,
  "restart-executor": 60,
  "start-worker": 60,
  /** verify.sh: the verify command, and each restart of an auto-revert. */
  verify: 60,
  /** layout.sh: each apt-get run (install, then on failure update and install again). */
  layout: 600,
  /** tailscale-join.sh: the install script, and `tailscale up`. */
  tailnetJoin: 120,
  /** An OVH reinstall task: the provider waits for it up to its create timeout, 45 min (terraform-provider-ovh
   * resource_dedicated_server_reinstall_task.go). */
  reinstall: 45 * 60,
} as const;

/** Bounds of the host setup commands (seconds), from the bounds their scripts get. */
export const SETUP_BOUNDS = {
  layout: 3 * STEP_BOUNDS.layout,
  // write-env.sh and install-units.sh write files and run systemctl daemon-reload / enable: no wait of their own.
  env: 60,
  units: 60,
  // The install script and `tailscale up`, a status read (20 s), the wait for an address (30 s), a last read (10 s).
  tailnetJoin: 2 * STEP_BOUNDS.tailnetJoin + 20 + 30 + 10,
  // The device lookup after the join (tailscale.ts `waitFor`).
  tailnetDevice: 120,
  // components/local/tailnet-forget-stale.mjs: one list and a few deletes over the Tailscale API.
  tailnetForgetStale: 60,
} as const;

/** How often the canary gate reads the counters (seconds). */
export const CANARY_POLL_SECONDS = 1;
/** The decommission's tailnet logout waits this long, so the SSH session over the tailnet returns first. */
export const LOGOUT_DELAY_SECONDS = 5;
export const TAILSCALE_INSTALL_URL = "https://tailscale.com/install.sh";
/** Host packages the worker needs (facts/zombied.md). */
export const HOST_PACKAGES = ["bubblewrap", "ca-certificates", "curl", "git", "openssl", "make"];

/** The host layout every script reads (lib.sh sets these; a test holds lib.sh to this table). */
export const HOST_LAYOUT = {
  ZF_ROOT: ZOMBIE_ROOT,
  ZF_WORKER_UNIT: WORKER_UNIT.replace(/\.service$/, ""),
  ZF_EXECUTOR_UNIT: EXECUTOR_UNIT.replace(/\.service$/, ""),
  ZF_BIN_DIR: "/usr/local/bin",
  ZF_UNIT_DIR: "/etc/systemd/system",
  ZF_ENV_FILE: WORKER_ENV_FILE,
  ZF_EXECUTOR_SOCKET: EXECUTOR_SOCKET,
} as const;

/** Seconds the stop step (and every stop of a worker that may be draining) may take: its TimeoutStopSec, and 10 s. */
export function stopBound(config: FleetConfig): number {
  return Math.max(STEP_BOUNDS.stop, workerStopTimeoutSeconds(config) + 10);
}

/** Seconds each step may take before it fails: the sum of the waits its script makes with the inputs it gets. */
export function stepBudgets(config: FleetConfig): Record<StepName, number> {
  const r = config.rollout;
  const stop = stopBound(config);
  const t = STEP_BOUNDS.verify;
  return {
    // A crash-looping worker is stopped (STEP_BOUNDS.stop) instead of drained: one or the other.
    drain: Math.max(r.drainDeadline, STEP_BOUNDS.stop),
    stop,
    deploy: STEP_BOUNDS.deploy,
    "restart-executor": STEP_BOUNDS["restart-executor"],
    "start-worker": STEP_BOUNDS["start-worker"],
    // The command, the healthy time; with autoRevert a failed verify also drains and stops the worker, restarts
    // both units on the previous release and runs the command again, all inside this one step.
    verify: t + r.minHealthyTime + (r.autoRevert ? r.drainDeadline + stop + t + t + t : 0),
    "canary-gate": r.canaryDeadline,
  };
}

/** What an input's value is: a script checks it as such (zf_require_seconds, zf_require_one_of, …). */
export type InputUnit = "seconds" | "count" | "true|false" | "fail|proceed" | "signal" | "text" | "name" | "list" | "url" | "sha256";
type Value = string | number | boolean;
export interface InputSpec {
  unit: InputUnit;
  /** Where the value comes from: a config path, or the bound or constant above. */
  from: string;
  value(config: FleetConfig, host: string): Value | undefined;
  /** Left out when its value is undefined (the script then does without it); every other input is required. */
  optional?: true;
}
const input = (unit: InputUnit, from: string, value: InputSpec["value"], optional?: true): InputSpec =>
  ({ unit, from, value, ...(optional ? { optional } : {}) });

const HOST = { ZF_HOST: input("name", "the worker's name", (_c, host) => host) };
const DRAIN = {
  ZF_DRAIN_SIGNAL: input("signal", "drain.signal", (c) => c.drain.signal),
  ZF_DRAIN_COMPLETE_LOG: input("text", "drain.completeLog", (c) => c.drain.completeLog),
  ZF_DRAIN_DEADLINE: input("seconds", "rollout.drainDeadline", (c) => c.rollout.drainDeadline),
  ZF_ON_DRAIN_DEADLINE: input("fail|proceed", "rollout.onDrainDeadline", (c) => c.rollout.onDrainDeadline),
};
const RELEASE_VERSION = { ZF_VERSION: input("name", "release.version", (c) => c.release.version) };
const bound = (seconds: number, from: string) => input("seconds", from, () => seconds);
const STOP_TIMEOUT = input("seconds", "stopBound", (c) => stopBound(c));

/** Every input of every step script. */
export const SCRIPT_INPUTS: Record<ScriptName, Record<string, InputSpec>> = {
  layout: {
    ...HOST,
    ZF_OWNER: input("name", "ssh.user", (c) => c.ssh.user),
    ZF_PACKAGES: input("list", "HOST_PACKAGES", () => HOST_PACKAGES.join(" ")),
    ZF_STEP_TIMEOUT: bound(STEP_BOUNDS.layout, "STEP_BOUNDS.layout"),
  },
  "write-env": { ...HOST },
  "install-units": { ...HOST },
  "tailscale-join": {
    ...HOST,
    ZF_TS_HOSTNAME: input("name", "the worker's name", (_c, host) => host),
    ZF_TS_TAGS: input("list", "tailscale.tags", (c) => c.tailscale.tags.join(",")),
    ZF_TS_INSTALL_URL: input("url", "TAILSCALE_INSTALL_URL", () => TAILSCALE_INSTALL_URL),
    ZF_STEP_TIMEOUT: bound(STEP_BOUNDS.tailnetJoin, "STEP_BOUNDS.tailnetJoin"),
  },
  // A crash-looping worker is stopped, not drained: ZF_STEP_TIMEOUT bounds that stop.
  drain: { ...HOST, ...DRAIN, ZF_STEP_TIMEOUT: bound(STEP_BOUNDS.stop, "STEP_BOUNDS.stop") },
  stop: { ...HOST, ZF_STEP_TIMEOUT: STOP_TIMEOUT },
  deploy: {
    ...HOST,
    ...RELEASE_VERSION,
    ZF_WORKER_URL: input("url", "release.worker.url", (c) => c.release.worker.url),
    ZF_WORKER_SHA256: input("sha256", "release.worker.sha256", (c) => c.release.worker.sha256),
    ZF_EXECUTOR_URL: input("url", "release.executor.url", (c) => c.release.executor.url),
    ZF_EXECUTOR_SHA256: input("sha256", "release.executor.sha256", (c) => c.release.executor.sha256),
    ZF_KEEP_RELEASES: input("count", "rollout.keepReleases", (c) => c.rollout.keepReleases),
    ZF_STEP_TIMEOUT: bound(STEP_BOUNDS.deploy, "STEP_BOUNDS.deploy"),
  },
  "restart-executor": { ...HOST, ZF_STEP_TIMEOUT: bound(STEP_BOUNDS["restart-executor"], "STEP_BOUNDS.restart-executor") },
  "start-worker": { ...HOST, ZF_STEP_TIMEOUT: bound(STEP_BOUNDS["start-worker"], "STEP_BOUNDS.start-worker") },
  verify: {
    ...HOST,
    // An unhealthy worker is drained before an auto-revert restarts it on the previous release (whatever the
    // drain's outcome: the host is failing already, so onDrainDeadline does not apply).
    ZF_DRAIN_SIGNAL: DRAIN.ZF_DRAIN_SIGNAL,
    ZF_DRAIN_COMPLETE_LOG: DRAIN.ZF_DRAIN_COMPLETE_LOG,
    ZF_DRAIN_DEADLINE: DRAIN.ZF_DRAIN_DEADLINE,
    // After such a revert the host runs another release: a resumed rollout must not pass it as this one.
    ...RELEASE_VERSION,
    ZF_VERIFY_COMMAND: input("text", "verify.command", (c) => c.verify.command),
    ZF_MIN_HEALTHY: input("seconds", "rollout.minHealthyTime", (c) => c.rollout.minHealthyTime),
    ZF_AUTO_REVERT: input("true|false", "rollout.autoRevert", (c) => c.rollout.autoRevert),
    ZF_STEP_TIMEOUT: bound(STEP_BOUNDS.verify, "STEP_BOUNDS.verify"),
    // The revert stops a worker that may still be draining: it gets the stop step's bound, as the plan counts.
    ZF_STOP_TIMEOUT: STOP_TIMEOUT,
  },
  "canary-gate": {
    ...HOST,
    ZF_METRICS_URL: input("url", "verify.metricsUrl", (c) => c.verify.metricsUrl, true),
    ZF_CANARY_RUNS: input("count", "rollout.canaryRuns", (c) => c.rollout.canaryRuns),
    ZF_CANARY_DEADLINE: input("seconds", "rollout.canaryDeadline", (c) => c.rollout.canaryDeadline),
    ZF_CANARY_POLL: bound(CANARY_POLL_SECONDS, "CANARY_POLL_SECONDS"),
    ZF_ON_SHORTFALL: input("fail|proceed", "rollout.onCanaryShortfall", (c) => c.rollout.onCanaryShortfall),
    ZF_COUNTER_SESSIONS: input("name", "verify.counters.sessions", (c) => c.verify.counters.sessions),
    ZF_COUNTER_FAILURES: input("name", "verify.counters.failures", (c) => c.verify.counters.failures),
    ZF_COUNTER_OOM: input("name", "verify.counters.oomKills", (c) => c.verify.counters.oomKills),
    ZF_COUNTER_LANDLOCK: input("name", "verify.counters.landlockDenials", (c) => c.verify.counters.landlockDenials),
    ZF_ERROR_PATTERN: input("text", "verify.errorPattern", (c) => c.verify.errorPattern),
    ZF_MIN_HEALTHY: input("seconds", "rollout.minHealthyTime", (c) => c.rollout.minHealthyTime),
  },
  decommission: {
    ...HOST,
    ...DRAIN,
    ZF_STEP_TIMEOUT: STOP_TIMEOUT,
    ZF_TAILSCALE: input("true|false", "tailscale.enabled", (c) => c.tailscale.enabled),
    // The delete reaches the host over the tailnet: log out only after this command has returned.
    ZF_LOGOUT_DELAY: input("seconds", "LOGOUT_DELAY_SECONDS", (c) => (c.tailscale.enabled ? LOGOUT_DELAY_SECONDS : 0)),
  },
};

/** Inputs a script reads as `NAME=value` lines on stdin, not from its environment (long texts: the command stays
 * short). Secrets are stdin data too, but never named here: write-env.sh and tailscale-join.sh read them raw. */
export const STDIN_INPUTS = {
  "install-units": { executor: "ZF_EXECUTOR_UNIT_TEXT_B64", worker: "ZF_WORKER_UNIT_TEXT_B64" },
} as const;

/** The config paths the inputs of `steps` come from, but for the inputs named in `except`. */
export function inputConfigPaths(steps: readonly ScriptName[], except: readonly string[] = []): string[] {
  const paths = steps.flatMap((s) => Object.entries(SCRIPT_INPUTS[s]))
    .filter(([name]) => !except.includes(name)).map(([, spec]) => spec.from)
    .filter((from) => /^[a-z]+\.[A-Za-z.]+$/.test(from));
  return [...new Set(paths)];
}
