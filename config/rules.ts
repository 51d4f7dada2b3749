// The cross-field rules of the stack config (what no single field can check), and the facts they rest on. PURE.
// The schema (schema.ts) runs them; they read the config defensively, so they run even when fields failed.
import type { z } from "zod";

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

// Zod skips refinements once any field failed, so an operator would fix the field errors and only then learn of
// the cross-field ones. These rules run whenever the parts they read have the right shape: every problem at once.
export function crossFieldReady(value: unknown): boolean {
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObject(value) || !isObject(value.rollout) || !isObject(value.ssh)) return false;
  return Array.isArray(value.workers) && value.workers.every((w) => isObject(w) && typeof w.name === "string") &&
    Array.isArray(value.rollout.waves) && isObject(value.ssh.hostKeys) && isObject(value.env) && isObject(value.secrets);
}

// Cross-field rules run even when some fields failed their own checks (`when` below), so that every problem is
// reported at once. They therefore read the config defensively: a field with the wrong type is skipped here,
// having been reported on its own path already.
type Unparsed = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const asObject = (v: unknown): Unparsed => (v && typeof v === "object" && !Array.isArray(v) ? (v as Unparsed) : {});
const asList = (v: unknown): Unparsed[] => (Array.isArray(v) ? v.map(asObject) : []);
type Problem = (path: (string | number)[], message: string) => void;

export function crossFieldRules(input: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
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

