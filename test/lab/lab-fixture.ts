// What the lab scenarios share: a fresh lab of N hosts with an empty stack, and the check that no run was lost.
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import { LAB_DIR, LabHosts, hostsSh, readLabHosts } from "../../lab/hosts";
import { QueueReport, RedisTarget, enqueueSteady, reset, waitForClean } from "../../lab/load";

/** Boots `count` hosts, empties the queue, and starts a new stack (the lab's file backend and work dir emptied). */
export async function freshLab(count: number): Promise<{ lab: LabHosts; redis: RedisTarget }> {
  const up = await hostsSh(["up", String(count)]);
  if (up.code !== 0) throw new Error(`lab did not come up: ${up.stderr}`);
  const lab = readLabHosts();
  const redis = { host: lab.redis.host, port: lab.redis.port };
  await reset(redis);
  for (const dir of ["pulumi-state", "pulumi"]) fs.rmSync(path.join(LAB_DIR, dir), { recursive: true, force: true });
  return { lab, redis };
}

/** Every run enqueued so far completed exactly once: none pending, none lost, none run twice. */
export async function expectNoRunLost(redis: RedisTarget, seconds = 90): Promise<QueueReport> {
  const report = await waitForClean(redis, seconds);
  expect({ ...report, byHost: undefined, byVersion: undefined, runs: undefined }).toMatchObject({
    completedMoreThanOnce: 0, pending: 0, neverClaimed: 0, unaccounted: 0, failed: 0, completedOnce: report.enqueued,
  });
  return report;
}

/**
 * A steady stream of runs in the background, as `npm run lab -- load` makes: at least `seconds` long and on until
 * `stop()`, so the canary gate has runs to judge however long the engine takes to reach it on a busy machine.
 */
export function steadyLoad(redis: RedisTarget, seconds: number, rate: number, minMs = 1000, maxMs = 10_000) {
  const done = new AbortController();
  const enqueued = enqueueSteady(redis, { seconds, rate, minMs, maxMs, prefix: `run-${Date.now()}`, until: done.signal });
  return { stop: () => { done.abort(); return enqueued; } };
}
