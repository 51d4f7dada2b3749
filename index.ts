// zombie-fleet: the bare-metal hosts that run zombied workers. Reads the stack config, plans the rollout
// (canary, then waves), and builds one Worker per config entry wired in that order. See README.md.
import * as pulumi from "@pulumi/pulumi";
import { loadFromPulumiConfig } from "./config/load";
import { Fleet } from "./components/fleet";
import { planRollout } from "./plan/planner";

// Bad config throws here, listing every problem, before any resource is registered. The whole config map is read,
// so a misspelled namespace is refused as the plan refuses it. isConfigSecret is the SDK's own test for a decrypted
// `secure:` value (sdk/nodejs/runtime/config.ts, v3.248.0); it is not in the typings, hence the cast.
const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret?: (key: string) => boolean };
const config = loadFromPulumiConfig(
  pulumi.runtime.allConfig(),
  (key) => runtime.isConfigSecret?.(key) ?? true, // unknown: treat every value as secret
  pulumi.getStack(),
);
const plan = planRollout(config);
const fleet = new Fleet("fleet", { config, plan });

/** The rollout plan the program wired: canary, waves, per-host steps, worst-case estimate. */
export const rolloutPlan = {
  release: plan.release,
  canary: plan.canary,
  waves: plan.waves.map((wave) => wave.hosts),
  held: plan.held,
  worstCaseSeconds: plan.estimate.worstCaseSeconds,
};

/** Per worker: addresses, the release it runs, and its fingerprint (secret). */
export const workers = Object.fromEntries(
  [...fleet.workers].map(([name, w]) => [name, {
    publicAddress: w.publicAddress,
    tailnetAddress: w.tailnetAddress,
    release: w.release,
    fingerprint: w.fingerprint,
  }]),
);
