// The lab stack's config as `pulumi up` gets it: the stack file's values, plus what a Pulumi ESC environment adds
// in production (the fleet's SSH key and the secrets), as secret config, and the lab's service addresses.
import * as fs from "node:fs";
import * as path from "node:path";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import { validateFleetConfig, readStackFile } from "../config/load";
import { RolloutPlan, planRollout } from "../plan/planner";
import { REPO_ROOT } from "./hosts";

const SECRET_KEYS = new Set(["ssh", "secrets"]);

export function labConfig(stackFile: string, labDir: string, secretsFile = path.join(REPO_ROOT, "lab", "secrets.json")): ConfigMap {
  const raw: Record<string, unknown> = { ...readStackFile(stackFile).written };
  const privateKey = fs.readFileSync(path.join(labDir, "ssh", "id_ed25519"), "utf8");
  raw.ssh = { ...(raw.ssh as object | undefined), privateKey };
  raw.secrets = { ...(raw.secrets as object | undefined), ...JSON.parse(fs.readFileSync(secretsFile, "utf8")) };
  if (Array.isArray(raw.workers)) raw.workers = raw.workers.map((w: unknown) => withHostAddress(w, labDir));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [
    `zombie-fleet:${k}`, { value: labAddresses(JSON.stringify(v), labDir), secret: SECRET_KEYS.has(k) },
  ]));
}

/**
 * A worker `host: { address: lab-worker-N }` gets that host's address from .lab/hosts.json, as DNS would give it
 * (the command provider dials the address itself: no ssh_config).
 */
function withHostAddress(worker: unknown, labDir: string): unknown {
  const address = (worker as { host?: { address?: unknown } }).host?.address;
  if (typeof address !== "string") return worker;
  const hosts = JSON.parse(fs.readFileSync(path.join(labDir, "hosts.json"), "utf8")) as { hosts: { name: string; address: string }[] };
  const lab = hosts.hosts.find((h) => h.name === address);
  return lab ? { ...(worker as object), host: { ...(worker as { host: object }).host, address: lab.address } } : worker;
}

/** Puts the addresses the lab picked at boot where the stack file names the lab's services (as DNS would). */
function labAddresses(text: string, labDir: string): string {
  const hosts = JSON.parse(fs.readFileSync(path.join(labDir, "hosts.json"), "utf8")) as { artifacts: { baseUrl: string }; redis: { url: string } };
  return text.replaceAll("http://lab-artifacts/", `${hosts.artifacts.baseUrl}/`).replaceAll("redis://lab-redis:6379", hosts.redis.url);
}

/** The rollout plan of a lab stack file, planned from the very config `pulumi up` gets (the program plans the same). */
export function labPlan(stackFile: string, labDir: string): RolloutPlan {
  const raw = Object.fromEntries(Object.entries(labConfig(stackFile, labDir))
    .map(([k, v]) => [k.slice("zombie-fleet:".length), JSON.parse(v.value) as unknown]));
  return planRollout(validateFleetConfig(raw, { source: stackFile, secretsRequired: true }));
}
