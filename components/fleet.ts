// The fleet: one Worker per config entry, wired wave by wave exactly as the rollout plan says.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { FleetConfig } from "../config/schema";
import { renderEnvFile } from "../host/env";
import { hostFingerprint } from "../host/fingerprint";
import { RolloutPlan, WavePlan } from "../plan/planner";
import { promotionNote, waveStartLine } from "../plan/rollout-mode";
import { rolloutScriptsHash, shellQuote } from "../host/script-command";
import { renderUnits } from "../host/units";
import { KEEP_OLD_INPUTS } from "./remote";
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

    if (plan.mode === "canary-only") {
      // Printed on every `up` while the release waits: the waves' commands do not run, so nothing else says why.
      void pulumi.log.info(promotionNote(plan), this);
    }
    let afterGates: pulumi.Resource[] = [];
    for (const wave of plan.waves) {
      const gates: pulumi.Resource[] = [];
      const start = waveStart(`${name}-wave-${wave.index}-start`, plan, wave, fingerprint, afterGates, this);
      for (const hostName of wave.hosts) {
        const w = new Worker(hostName, {
          // The wave's start waits for the previous wave's barrier: through it, so does every command of the wave.
          ...common, worker: byName.get(hostName)!, plan: plan.hosts[hostName], afterGates: [start],
        }, { parent: this });
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
 * The line `pulumi up` shows as a wave starts, naming its hosts: a local command that echoes it, on which every
 * command of the wave depends. It is a resource of its own, not a line of a host's drain, because the wave's hosts
 * are no input of any host command: a wave-mate list there would change with every change of the waves and re-run
 * every host (an input change is an update, which runs `create` again: pulumi-command v1.2.1 remote Update). Here
 * a change of the waves re-runs only this echo. Its triggers are what re-runs every host of the wave (release, host
 * fingerprint, rollout scripts), so it prints when they roll and stays quiet on an `up` that changes nothing. A
 * wave waiting for promotion keeps its old inputs like its hosts (remote.ts KEEP_OLD_INPUTS), and prints when promoted.
 */
function waveStart(
  name: string, plan: RolloutPlan, wave: WavePlan, fingerprint: HostFingerprint, afterGates: pulumi.Resource[],
  parent: pulumi.Resource,
): pulumi.Resource {
  const line = waveStartLine({
    index: wave.index, waves: plan.waves.length, hosts: wave.hosts, canary: wave.gate === "canary-gate", mode: plan.mode,
    release: plan.release, waiting: wave.awaitingPromotion,
  });
  return new command.local.Command(name, {
    create: `echo ${shellQuote(line)}`,
    triggers: [fingerprint.release, fingerprint.host, rolloutScriptsHash()],
    logging: "stdout",
  }, { parent, dependsOn: afterGates, ...(wave.awaitingPromotion ? { ignoreChanges: [...KEEP_OLD_INPUTS] } : {}) });
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
