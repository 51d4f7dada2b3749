// One zombied worker host: server → tailnet → layout → .env → units → rollout chain, plus its decommission.
import * as ovh from "@ovhcloud/pulumi-ovh";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { FleetConfig, WorkerConfig } from "../config/schema";
import { ovhServer } from "./ovh";
import { reinstallInWave } from "./reinstall";
import { HostPlan } from "../plan/planner";
import { StepName } from "../host/steps";
import { CommandSpec, bundleSpec, decommissionSpec, hostSpecs } from "../host/commands";
import { HostAccess, KEEP_OLD_INPUTS, hostAccess, remoteCommand } from "./remote";
import { joinTailnet } from "./tailscale";
import { UNREPORTED, reportedRelease } from "../host/verify-report";
import { RenderedUnits } from "../host/units";

/** What makes a host's rollout re-run; `env` and `host` are derived from secrets and must be pulumi.secret. */
export interface HostFingerprint {
  release: string;
  units: string;
  env: pulumi.Output<string>;
  host: pulumi.Output<string>;
}

export interface WorkerArgs {
  config: FleetConfig;
  worker: WorkerConfig;
  /** This host's place in the rollout; undefined for a held worker, which is left as it is. When its wave waits for
   * promotion (plan.awaitingPromotion), its commands keep the inputs they have (KEEP_OLD_INPUTS). */
  plan?: HostPlan;
  /** The fleet's SSH key, secret. */
  privateKey: pulumi.Output<string>;
  /** The rendered .env text, secret. */
  envText: pulumi.Output<string>;
  units: RenderedUnits;
  fingerprint: HostFingerprint;
  /** The gates of the previous wave: nothing of this host changes before they passed. */
  afterGates: pulumi.Resource[];
}

export class Worker extends pulumi.ComponentResource {
  /** The worker's name (its hostname). */
  public readonly workerName: string;
  /** Address the host was first reached on (OVH public IP or the configured address). */
  public readonly publicAddress: pulumi.Output<string>;
  /** The host's tailnet IPv4 address, when Tailscale is enabled. */
  public readonly tailnetAddress: pulumi.Output<string | undefined>;
  /** The release this host's last passed verify reported it runs (verify-report.ts), not the configured one: a
   * host whose verify failed and reverted it keeps what it reported before. "held" for a held worker. */
  public readonly release: pulumi.Output<string>;
  /** The host fingerprint its rollout steps are triggered by (secret: it hashes the .env). */
  public readonly fingerprint: pulumi.Output<string>;
  /** The rollout step commands, in chain order (empty for a held worker). */
  public readonly steps: { step: StepName; command: command.remote.Command }[] = [];
  /** The step the next wave waits for: canary-gate on the canary, verify elsewhere. */
  public readonly gate?: command.remote.Command;

  constructor(name: string, args: WorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("zombie:fleet:Worker", name, {}, opts);
    const { config, worker } = args;
    this.workerName = worker.name;

    const host = this.provisionHost(name, args);
    this.publicAddress = host.address;
    let access = hostAccess(config, worker.name, host.address, args.privateKey);
    // What the host needs before any step runs on it: its server (or reinstall), the script bundle, the tailnet.
    const hostReady: pulumi.Resource[] = [...host.resources];
    const source = worker.source;
    if (args.plan?.reinstall && source.kind === "adopt" && host.server) {
      const reinstall = reinstallInWave(name, {
        config, worker: worker.name, serviceName: source.serviceName, os: args.plan.reinstall, access,
        server: host.server, afterGates: args.afterGates, keepOldInputs: args.plan.awaitingPromotion,
      }, this);
      hostReady.push(reinstall.task);
      host.identity = reinstall.identity;
    }
    // Every later command runs an installed script, the tailnet join included: the bundle goes first, over the
    // address the join uses. A gone host cannot be reached (its decommission is only dropped from state).
    if (!worker.gone) {
      const bundle = bundleSpec(config, worker.name, [{ what: "host identity", value: host.identity }]);
      hostReady.push(remoteCommand(`${name}-scripts`, config, access, bundle, { parent: this, dependsOn: [...hostReady] }));
    }
    // A gone host is not in the tailnet any more: looking its device up would fail the whole `pulumi up`.
    if (config.tailscale.enabled && !worker.gone) {
      const tailnet = joinTailnet(`${name}-tailnet`, {
        config, worker: worker.name, publicAccess: access, hostIdentity: host.identity, dependsOn: [...hostReady],
      }, this);
      access = hostAccess(config, worker.name, tailnet.address, args.privateKey);
      hostReady.push(...tailnet.resources);
      this.tailnetAddress = tailnet.address;
    } else {
      this.tailnetAddress = pulumi.output(undefined);
    }

    this.decommission(name, args, access, hostReady);
    if (args.plan) {
      this.gate = this.rollOut(name, args, args.plan, access, hostReady, host.identity);
    }
    // What the host's last passed verify reported: a host that waits for promotion keeps its old verify (its inputs
    // are kept, so are its outputs) and so reports the release it still runs.
    const verify = this.steps.find((s) => s.step === "verify")?.command;
    this.release = verify ? verify.stdout.apply((out) => reportedRelease(out) ?? UNREPORTED) : pulumi.output("held");
    this.fingerprint = args.fingerprint.host;
    this.registerOutputs({
      workerName: this.workerName,
      publicAddress: this.publicAddress,
      tailnetAddress: this.tailnetAddress,
      release: this.release,
      fingerprint: this.fingerprint,
    });
  }

  /** The server (none for an existing host), its first address, and its identity before any reinstall. */
  private provisionHost(name: string, args: WorkerArgs): {
    address: pulumi.Output<string>; resources: pulumi.Resource[]; identity: pulumi.Output<string>; server?: ovh.dedicated.Server;
  } {
    const source = args.worker.source;
    if (source.kind === "existing") {
      return { address: pulumi.output(source.address), resources: [], identity: pulumi.output(source.address) };
    }
    const server = ovhServer(`${name}-server`, { worker: args.worker.name, source, publicKey: args.config.ssh.publicKey }, { parent: this });
    // A reinstall replaces this identity with its task's (reinstall.ts): setup and tailnet join then run again.
    const identity = pulumi.interpolate`${server.serviceName}/${source.kind === "adopt" ? "kept" : "ordered"}`;
    return { address: server.ip, resources: [server], identity, server };
  }

  /** Host layout, .env and units, then the rollout chain of the plan; returns the gate of this host. */
  private rollOut(
    name: string, args: WorkerArgs, plan: HostPlan, access: HostAccess, hostReady: pulumi.Resource[],
    identity: pulumi.Output<string>,
  ) {
    const { config, worker, fingerprint } = args;
    const specs = hostSpecs<pulumi.Input<unknown>>(config, worker.name, args.units, {
      identity, release: fingerprint.release, host: fingerprint.host, envText: args.envText,
    }, plan.steps);
    const waiting = plan.awaitingPromotion ? { ignoreChanges: [...KEEP_OLD_INPUTS] } : {};
    const cmd = (suffix: string, spec: CommandSpec<pulumi.Input<unknown>>, dependsOn: pulumi.Resource[], opts = waiting) =>
      remoteCommand(`${name}-${suffix}`, config, access, spec, { parent: this, dependsOn, ...opts });
    // The layout is the host's setup, not its rollout: it changes with the host alone, never with a release.
    const layout = cmd("layout", specs.setup.layout, hostReady, {});
    const layoutAndGates = [layout, ...args.afterGates];
    let previous: pulumi.Resource[] = [cmd("env", specs.setup.env, layoutAndGates), cmd("units", specs.setup.units, layoutAndGates)];
    for (const { step, spec } of specs.rollout) {
      const command = cmd(step, spec, [...previous, ...args.afterGates]);
      this.steps.push({ step, command });
      previous = [command];
    }
    return this.steps[this.steps.length - 1].command;
  }

  /** Exists for its delete: drains and stops the host before its server and tailnet resources go. */
  private decommission(name: string, args: WorkerArgs, access: HostAccess, hostReady: pulumi.Resource[]) {
    remoteCommand(`${name}-decommission`, args.config, access, decommissionSpec(args.config, args.worker.name), {
      parent: this,
      dependsOn: hostReady,
      // A host that is already gone cannot be drained: drop the command from state instead of running it, and
      // keep its stored inputs as they are (a changed input would be an update, which runs `create` on the host).
      retainOnDelete: args.worker.gone,
      ...(args.worker.gone ? { ignoreChanges: ["connection", "create", "delete", "triggers"] } : {}),
    });
  }
}
