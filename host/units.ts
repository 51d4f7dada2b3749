// The two systemd units of a worker host, rendered from stack config. PURE: text in, text out.
// Baseline is the units the zombied repository shipped (facts/zombied.md); every difference from them is a change
// the drain contract needs, and says so in a comment inside the unit, where an operator reading the host sees it.
import { DEFAULT_RUN_TIMEOUT_MS } from "../config/rules";
import { FleetConfig } from "../config/schema";

export const EXECUTOR_UNIT = "zombied-executor.service";
export const WORKER_UNIT = "zombied-worker.service";

/** Host layout (host-scripts/README.md): the release `current` points at, the worker's env file, the socket. */
export const ZOMBIE_ROOT = "/opt/zombie";
export const WORKER_BINARY = `${ZOMBIE_ROOT}/current/zombied`;
export const EXECUTOR_BINARY = `${ZOMBIE_ROOT}/current/zombied-executor`;
export const WORKER_ENV_FILE = "/etc/default/zombied-worker";
export const RUNTIME_DIRECTORY = "zombie";
export const EXECUTOR_SOCKET = `/run/${RUNTIME_DIRECTORY}/executor.sock`;

/**
 * Seconds `TimeoutStopSec=` allows beyond the drain deadline: the worker's own drain timeout is set to the deadline,
 * and it then needs a moment to cancel what is left and exit (the shipped unit had the same 30 s: 270 s drain
 * timeout under a 300 s TimeoutStopSec, facts/zombied.md).
 */
export const STOP_MARGIN_SECONDS = 30;

/** Seconds the executor may take to create its socket before its start counts as failed. */
export const EXECUTOR_SOCKET_WAIT_SECONDS = 30;

export interface RenderedUnit {
  /** File name under /etc/systemd/system. */
  name: string;
  /** Whole file text, ending in a newline. */
  text: string;
}

export interface RenderedUnits {
  executor: RenderedUnit;
  worker: RenderedUnit;
}

/** The subset of FleetConfig the units depend on; anything else changing must not change a unit. */
export type UnitInputs = Pick<FleetConfig, "rollout" | "drain" | "units">;

/** Both unit files for a host. Deterministic: the same config always gives the same bytes. */
export function renderUnits(config: UnitInputs): RenderedUnits {
  return {
    executor: { name: EXECUTOR_UNIT, text: renderExecutorUnit() },
    worker: { name: WORKER_UNIT, text: renderWorkerUnit(config) },
  };
}

/** `TimeoutStopSec=` of the worker, in seconds: above the drain deadline, so a stop never SIGKILLs a drain. */
export function workerStopTimeoutSeconds(config: UnitInputs): number {
  return config.rollout.drainDeadline + STOP_MARGIN_SECONDS;
}

type Line = string | false;

function unitText(lines: Line[]): string {
  return `${lines.filter((line): line is string => line !== false).join("\n")}\n`;
}

const HEADER = [
  "# Managed by zombie-fleet (host/units.ts); `pulumi up` overwrites local edits.",
];

function renderExecutorUnit(): string {
  return unitText([
    ...HEADER,
    "[Unit]",
    "Description=zombied executor (runs the sandboxes of zombied-worker)",
    "After=network.target",
    `Before=${WORKER_UNIT}`,
    "",
    "[Service]",
    "Type=simple",
    "# ExecStart points at the release `current` links to; deploy switches that link atomically.",
    `ExecStart=${EXECUTOR_BINARY}`,
    "# The worker connects to the socket once, with no retry (facts/zombied.md, startup.executor_connect), so the",
    "# executor only counts as started once its socket exists: After= then really orders the worker behind it.",
    "# Bounded by TimeoutStartSec (systemd.service(5)); a timeout fails the start and Restart=always retries.",
    `ExecStartPost=/bin/sh -c 'while [ ! -S ${EXECUTOR_SOCKET} ]; do sleep 0.1; done'`,
    `TimeoutStartSec=${EXECUTOR_SOCKET_WAIT_SECONDS}`,
    "Restart=always",
    "RestartSec=2",
    "# /run/zombie (and the socket in it) is created on start and removed on every stop (systemd.exec(5)).",
    `RuntimeDirectory=${RUNTIME_DIRECTORY}`,
    "RuntimeDirectoryPreserve=no",
    `Environment=EXECUTOR_SOCKET_PATH=${EXECUTOR_SOCKET}`,
    "Environment=EXECUTOR_LEASE_TIMEOUT_MS=30000",
    "Environment=EXECUTOR_MEMORY_LIMIT_MB=512",
    "Environment=EXECUTOR_CPU_LIMIT_PERCENT=100",
    "# Hardening as shipped (facts/zombied.md); the worker's secrets never reach this unit.",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ReadWritePaths=/run/${RUNTIME_DIRECTORY} /sys/fs/cgroup /tmp`,
    "ProtectHome=yes",
    "",
    "[Install]",
    "# Enabled, so the executor comes back after a reboot (the shipped units were never enabled).",
    "WantedBy=multi-user.target",
  ]);
}

function renderWorkerUnit(config: UnitInputs): string {
  const drainMs = config.rollout.drainDeadline * 1000;
  return unitText([
    ...HEADER,
    "[Unit]",
    "Description=zombied worker (claims runs from the queue)",
    "# Requires=: stopping or restarting the executor stops or restarts the worker too (systemd.unit(5)).",
    `Requires=${EXECUTOR_UNIT}`,
    `After=${EXECUTOR_UNIT}`,
    config.units.workerPartOfExecutor &&
      "# PartOf= (units.workerPartOfExecutor): the worker also restarts when the executor restarts on its own.",
    config.units.workerPartOfExecutor && `PartOf=${EXECUTOR_UNIT}`,
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${WORKER_BINARY} worker`,
    "# Defaults as shipped (facts/zombied.md); the env file below overrides them (systemd.exec(5)).",
    "Environment=WORKER_CONCURRENCY=2",
    `Environment=RUN_TIMEOUT_MS=${DEFAULT_RUN_TIMEOUT_MS}`,
    "Environment=SANDBOX_BACKEND=bubblewrap",
    `Environment=EXECUTOR_SOCKET_PATH=${EXECUTOR_SOCKET}`,
    "# The worker's own drain timeout equals rollout.drainDeadline, so it never gives up on runs before the",
    "# rollout does (it used to be 270 s against a 6 m rollout deadline).",
    `Environment=DRAIN_TIMEOUT_MS=${drainMs}`,
    `EnvironmentFile=-${WORKER_ENV_FILE}`,
    "# on-failure, not always: a worker that drained and exited 0 must stay down, or it claims runs again",
    "# 5 s later in the middle of a rollout (systemd.service(5) Restart=; facts/zombied.md).",
    "Restart=on-failure",
    "RestartSec=5",
    "# A stop is a drain: the drain signal (drain.signal) goes to the main process only; what is left of the unit",
    "# is SIGKILLed once that exits or TimeoutStopSec passes (systemd.kill(5) KillMode=mixed, KillSignal=).",
    "KillMode=mixed",
    `KillSignal=${config.drain.signal}`,
    `# rollout.drainDeadline (${config.rollout.drainDeadline} s) + ${STOP_MARGIN_SECONDS} s to exit, so a stop never cuts a drain short.`,
    `TimeoutStopSec=${workerStopTimeoutSeconds(config)}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ]);
}
