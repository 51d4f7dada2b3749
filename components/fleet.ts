// The fleet: one Worker per config entry, wired wave by wave exactly as the rollout plan says.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FleetConfig } from "../config/schema";
import { renderEnvFile } from "../host/env";
import { hostFingerprint } from "../host/fingerprint";
import { RolloutPlan } from "../plan/planner";
import { renderUnits } from "../host/units";
import { HostFingerprint, Worker } from "./worker";

export interface FleetArgs {
  config: FleetConfig;
  plan: RolloutPlan;
}

export class Fleet extends pulumi.ComponentResource {
  /** Workers by name, in plan order (wave by wave), held workers last. */
  public readonly workers: Map<string, Worker> = new Map();
  /** The rollout plan the dependsOn graph realises. */
  public readonly rolloutPlan: RolloutPlan;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("zombie:fleet:Fleet", name, {}, opts);
    const { config, plan } = args;
    this.rolloutPlan = plan;
    const privateKey = pulumi.secret(config.ssh.privateKey ?? "");
    const envPlain = renderEnvFile(config);
    const envText = pulumi.secret(envPlain);
    const units = renderUnits(config);
    const parts = hostFingerprint(config, units, envPlain);
    const fingerprint: HostFingerprint = {
      release: parts.release,
      units: parts.units,
      env: pulumi.secret(parts.env),
      host: pulumi.secret(parts.host),
    };
    const byName = new Map(config.workers.map((w) => [w.name, w]));
    const common = { config, privateKey, envText, units, fingerprint };

    let afterGates: pulumi.Resource[] = [];
    for (const wave of plan.waves) {
      const gates: pulumi.Resource[] = [];
      for (const hostName of wave.hosts) {
        const w = new Worker(hostName, { ...common, worker: byName.get(hostName)!, plan: plan.hosts[hostName], afterGates }, { parent: this });
        this.workers.set(hostName, w);
        if (w.gate) gates.push(w.gate);
      }
      afterGates = [waveBarrier(`${name}-wave-${wave.index}-passed`, gates, this)];
    }
    for (const held of plan.held) {
      this.workers.set(held.name, new Worker(held.name, { ...common, worker: byName.get(held.name)!, afterGates: [] }, { parent: this }));
    }
    this.registerOutputs({ rolloutPlan: plan });
  }
}

/**
 * One resource that exists once every gate of a wave passed; the next wave depends on it alone. Depending on each
 * gate directly cost |wave k| × |wave k+1| edges per resource kind (≈ N²/2 with a percentage cap). A failed gate
 * never resolves, so this is never registered and nothing of a later wave starts. A local command without
 * `create` runs nothing (pulumi-command v1.2.1 local/commandController.go, Create) and has no delete.
 */
function waveBarrier(name: string, gates: pulumi.Resource[], parent: pulumi.Resource): pulumi.Resource {
  return new command.local.Command(name, {}, { parent, dependsOn: gates });
}
