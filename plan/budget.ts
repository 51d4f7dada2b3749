// What a rollout can take besides its step deadlines: SSH dialing, host setup, and the deploy job's own limit.
// PURE. The plan adds these to its worst case, so that it bounds what `pulumi up` can really take.
import type { FleetConfig } from "../config/schema";
import { SETUP_BOUNDS } from "../host/steps";

/**
 * Minutes the deploy job may run (.github/workflows/deploy.yml `timeout-minutes`; test/unit/workflows.test.ts
 * keeps the two equal). The plan warns, for any stack, when its worst case does not fit.
 */
export const DEPLOY_JOB_TIMEOUT_MINUTES = 355;
/** Minutes the deploy job spends besides the rollout: checkout, npm ci, CLI and plugin install, preview. */
export const DEPLOY_SETUP_MINUTES = 15;
/** GitHub-hosted runners end every job at 6 hours, whatever `timeout-minutes` says. */
export const GITHUB_JOB_LIMIT_MINUTES = 360;

// pulumi-command v1.2.1 dials through pulumi's retry.Until (sdk/go/common/util/retry/until.go at v3.248.0): the
// first wait is 100 ms, each next one 1.5 times longer, at most 5 s.
const RETRY_FIRST_DELAY_S = 0.1;
const RETRY_BACKOFF = 1.5;
const RETRY_MAX_DELAY_S = 5;

/**
 * Seconds one command may spend dialing its host before it fails. pulumi-command v1.2.1
 * (provider/pkg/provider/remote/connection.go, dialWithRetry) gives up once `dials > dialErrorLimit`, so it dials
 * dialErrorLimit + 1 times, each bounded by perDialTimeout, with dialErrorLimit waits in between. Not bounded:
 * golang.org/x/crypto/ssh's ClientConfig.Timeout covers the TCP connect only, so a host that accepts the
 * connection and then stalls the SSH handshake can hold a dial longer.
 */
export function dialBudgetSeconds(config: FleetConfig): number {
  const { dialErrorLimit, perDialTimeout } = config.ssh;
  let waits = 0;
  for (let i = 0, delay = RETRY_FIRST_DELAY_S; i < dialErrorLimit; i++, delay *= RETRY_BACKOFF) {
    waits += Math.min(delay, RETRY_MAX_DELAY_S);
  }
  return (dialErrorLimit + 1) * perDialTimeout + Math.ceil(waits);
}

/**
 * Worst case of a host's setup before its first wave: the layout and, with Tailscale, forget-stale, the join and
 * the device lookup, each remote command with its dial budget. Hosts set up in parallel, so this counts once.
 */
export function setupWorstCase(config: FleetConfig): number {
  const dial = dialBudgetSeconds(config);
  const tailnet = config.tailscale.enabled
    ? SETUP_BOUNDS.tailnetForgetStale + SETUP_BOUNDS.tailnetJoin + dial + SETUP_BOUNDS.tailnetDevice
    : 0;
  return SETUP_BOUNDS.layout + dial + tailnet;
}

/** Warnings when a worst case of `seconds` would be cut by the deploy job's timeout or GitHub's 6-hour limit. */
export function jobLimitWarnings(seconds: number): string[] {
  const needed = Math.ceil(seconds / 60) + DEPLOY_SETUP_MINUTES;
  const warnings: string[] = [];
  if (needed > DEPLOY_JOB_TIMEOUT_MINUTES) {
    warnings.push(`the worst case (${Math.ceil(seconds / 60)} min, plus ${DEPLOY_SETUP_MINUTES} min of job setup) exceeds the deploy job's timeout-minutes (${DEPLOY_JOB_TIMEOUT_MINUTES}): a slow rollout would be cut in the middle of a wave`);
  }
  if (needed > GITHUB_JOB_LIMIT_MINUTES) {
    warnings.push(`the worst case (${Math.ceil(seconds / 60)} min, plus ${DEPLOY_SETUP_MINUTES} min of job setup) exceeds GitHub's ${GITHUB_JOB_LIMIT_MINUTES}-minute job limit: use larger waves, shorter deadlines, or run \`pulumi up\` outside GitHub-hosted runners`);
  }
  return warnings;
}

/** What the worst case cannot bound, said once per plan. */
export function unboundedWarnings(config: FleetConfig): string[] {
  const ordered = config.workers.filter((w) => w.source.kind === "order" && w.hold === undefined).map((w) => w.name);
  return ordered.length
    ? [`the worst case does not count the time OVH takes to deliver an ordered server (${ordered.join(", ")}): a first \`pulumi up\` of these may take longer`]
    : [];
}
