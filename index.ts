// zombie-fleet: the bare-metal hosts that run zombied workers. Reads the stack config, plans the rollout
// (canary, then waves), and builds one Worker per config entry wired in that order. See README.md.
import * as pulumi from "@pulumi/pulumi";
import { loadFromPulumiConfig, NAMESPACE } from "./components/config-load";
import { Fleet } from "./components/fleet";
import { planRollout } from "./components/plan";

const stackConfig = new pulumi.Config(NAMESPACE);
// Bad config throws here, listing every problem, before any resource is registered.
const config = loadFromPulumiConfig((key) => stackConfig.getObject(key), pulumi.getStack());
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
