// No step script ever prints a secret, on any path (issue 11 item 7): every script runs the way the program runs
// it (installed bundle, run.sh), traced (ZF_TRACE=1), with a marker secret on stdin and in both .env files, once
// with no inputs and once with the program's own inputs while every systemctl verb and apt-get fail. The marker
// must appear in nothing it prints, nor in the step log run.sh keeps.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { ScriptInputs } from "../../host/script-command";
import { scriptInputs } from "../../host/step-inputs";
import { SCRIPT_NAMES, ScriptName, TAILSCALE_INSTALL_URL } from "../../host/steps";
import { fleetConfig } from "../fixtures/minimal-fleet-config";
import { Harness, useHarness } from "./harness";

const MARKER = "zf-marker-9c2e71d4-secret";
const config = fleetConfig({
  rollout: { drainDeadline: "1s", canaryDeadline: "1s", minHealthyTime: "1s" },
  // A 1 s drain deadline is valid only with runs that time out sooner (config/schema.ts: at least RUN_TIMEOUT_MS).
  env: { RUN_TIMEOUT_MS: "1000" },
  verify: { metricsUrl: "http://127.0.0.1:9/metrics" },
  release: {
    version: "2026.04.1",
    worker: { url: "http://127.0.0.1:9/zombied.tar.gz", sha256: "a".repeat(64) },
    executor: { url: "http://127.0.0.1:9/zombied-executor.tar.gz", sha256: "b".repeat(64) },
  },
});
const SYSTEMCTL_VERBS = ["show", "kill", "stop", "start", "restart", "daemon-reload", "enable", "disable", "is-enabled", "is-active", "reset-failed"];

/** The inputs the program gives each script (the step contract), step bounds cut to 1 s, nothing downloaded. */
function programInputs(name: ScriptName): ScriptInputs {
  const inputs = scriptInputs(config, "worker-a", name);
  const cut = (key: string, value: string | number) => (key in inputs ? { [key]: value } : {});
  return {
    ...inputs, ...cut("ZF_STEP_TIMEOUT", 1), ...cut("ZF_STOP_TIMEOUT", 1),
    ...cut("ZF_TS_INSTALL_URL", TAILSCALE_INSTALL_URL.replace(/^https:\/\/[^/]+/, "http://127.0.0.1:9")),
  };
}

function plantSecrets(h: Harness): void {
  for (const file of [path.join(h.zfRoot, ".env"), h.env.ZF_ENV_FILE]) {
    fs.writeFileSync(file, `API_TOKEN=${MARKER}\nREDIS_URL=rediss://user:${MARKER}@redis:6380\n`, { mode: 0o600 });
  }
}

function breakHost(h: Harness): void {
  for (const verb of SYSTEMCTL_VERBS) fs.writeFileSync(path.join(h.fake, "fail", verb), `${verb} refused\n`);
  fs.writeFileSync(path.join(h.fake, "fail", "apt-get"), "E: broken\n");
}

describe("no script prints a secret", () => {
  const h = useHarness({ standins: ["systemctl", "journalctl", "apt-get", "dpkg-query", "tailscale"] });
  const stdin = `API_TOKEN=${MARKER}\n`;

  test.each(SCRIPT_NAMES)("%s with no inputs but its time bounds", async (name) => {
    plantSecrets(h());
    const env: Record<string, string | number | undefined> = Object.fromEntries(
      Object.keys(programInputs(name)).filter((k) => k !== "ZF_HOST").map((k) => [k, undefined]),
    );
    Object.assign(env, { ZF_STEP_TIMEOUT: 1, ZF_DRAIN_DEADLINE: 1, ZF_CANARY_DEADLINE: 1, ZF_MIN_HEALTHY: 1 });
    const res = await h().runRemote(`${name}.sh`, { env: { ...env, ZF_TRACE: "1" }, stdin, timeoutMs: 30_000 });
    const log = fs.readFileSync(path.join(h().zfRoot, "log", `${name}.log`), "utf8");
    expect(res.stdout + res.stderr + log).not.toContain(MARKER);
    expect(res.status, res.stdout).toBeDefined();
  });

  test.each(SCRIPT_NAMES)("%s with the program's inputs on a broken host", async (name) => {
    plantSecrets(h());
    breakHost(h());
    const res = await h().runRemote(`${name}.sh`, { env: { ...programInputs(name), ZF_TRACE: "1" }, stdin, timeoutMs: 30_000 });
    const log = fs.readFileSync(path.join(h().zfRoot, "log", `${name}.log`), "utf8");
    expect(res.stdout + res.stderr + log).not.toContain(MARKER);
    expect(res.status, res.stdout).toBeDefined();
  });
});
