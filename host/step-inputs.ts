// The inputs of each remote step script, derived from stack config. PURE. The names are the contract in
// host-scripts/README.md; none of them may carry a secret (secrets travel on stdin).
import { FleetConfig } from "../config/schema";
import { StepName, stepBudgets } from "../plan/planner";
import { ScriptInputs } from "./script-command";

/** Host packages the worker needs (facts/zombied.md). */
export const HOST_PACKAGES = ["bubblewrap", "ca-certificates", "curl", "git", "openssl", "make"];

export function drainInputs(config: FleetConfig): ScriptInputs {
  return {
    ZF_DRAIN_SIGNAL: config.drain.signal,
    ZF_DRAIN_COMPLETE_LOG: config.drain.completeLog,
    ZF_DRAIN_DEADLINE: config.rollout.drainDeadline,
    ZF_ON_DRAIN_DEADLINE: config.rollout.onDrainDeadline,
  };
}

/** Inputs of one rollout step on one host. */
export function rolloutStepInputs(config: FleetConfig, host: string, step: StepName): ScriptInputs {
  const budget = stepBudgets(config);
  const common = { ZF_HOST: host };
  switch (step) {
    case "drain":
      return { ...common, ...drainInputs(config) };
    case "stop":
    case "restart-executor":
    case "start-worker":
      return { ...common, ZF_STEP_TIMEOUT: budget[step] };
    case "deploy":
      return {
        ...common,
        ZF_VERSION: config.release.version,
        ZF_WORKER_URL: config.release.worker.url,
        ZF_WORKER_SHA256: config.release.worker.sha256,
        ZF_EXECUTOR_URL: config.release.executor.url,
        ZF_EXECUTOR_SHA256: config.release.executor.sha256,
        ZF_KEEP_RELEASES: config.rollout.keepReleases,
        ZF_STEP_TIMEOUT: budget.deploy,
      };
    case "verify":
      return {
        ...common,
        // An unhealthy worker is drained before an auto-revert restarts it on the previous release.
        ...drainInputs(config),
        // After such a revert the host runs another release: a resumed rollout must not pass it as this one.
        ZF_VERSION: config.release.version,
        ZF_VERIFY_COMMAND: config.verify.command,
        ZF_MIN_HEALTHY: config.rollout.minHealthyTime,
        ZF_AUTO_REVERT: config.rollout.autoRevert,
        ZF_STEP_TIMEOUT: budget["start-worker"],
        // The revert stops a worker that may still be draining: it gets the stop step's budget, as the plan counts.
        ZF_STOP_TIMEOUT: budget.stop,
      };
    case "canary-gate":
      return { ...common, ...canaryGateInputs(config) };
    default: {
      const unknown: never = step;
      throw new Error(`no inputs defined for step ${String(unknown)}`);
    }
  }
}

function canaryGateInputs(config: FleetConfig): ScriptInputs {
  const { counters } = config.verify;
  return {
    ...(config.verify.metricsUrl ? { ZF_METRICS_URL: config.verify.metricsUrl } : {}),
    ZF_CANARY_RUNS: config.rollout.canaryRuns,
    ZF_CANARY_DEADLINE: config.rollout.canaryDeadline,
    ZF_ON_SHORTFALL: config.rollout.onCanaryShortfall,
    ZF_COUNTER_SESSIONS: counters.sessions,
    ZF_COUNTER_FAILURES: counters.failures,
    ZF_COUNTER_OOM: counters.oomKills,
    ZF_COUNTER_LANDLOCK: counters.landlockDenials,
    ZF_ERROR_PATTERN: config.verify.errorPattern,
    ZF_MIN_HEALTHY: config.rollout.minHealthyTime,
  };
}

export function layoutInputs(config: FleetConfig, host: string): ScriptInputs {
  return { ZF_HOST: host, ZF_OWNER: config.ssh.user, ZF_PACKAGES: HOST_PACKAGES.join(" ") };
}

export function decommissionInputs(config: FleetConfig, host: string): ScriptInputs {
  return {
    ZF_HOST: host,
    ...drainInputs(config),
    ZF_STEP_TIMEOUT: stepBudgets(config).stop,
    ZF_TAILSCALE: config.tailscale.enabled,
    // The delete reaches the host over the tailnet: log out only after this command has returned.
    ...(config.tailscale.enabled ? { ZF_LOGOUT_DELAY: 5 } : {}),
  };
}
