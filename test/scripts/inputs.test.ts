// No script has a default of its own for an input: each one the step contract (host/steps.ts) requires is refused
// when missing, with exit 2 and its name, before the script touches the host. Run by bash with nothing on PATH but
// coreutils, so a script that went on would fail differently.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { SCRIPTS_DIR } from "../../host/script-command";
import { scriptInputs } from "../../host/step-inputs";
import { HOST_LAYOUT, SCRIPT_INPUTS, SCRIPT_NAMES, ScriptName } from "../../host/steps";
import { fleetConfig } from "../fixtures/minimal-fleet-config";

const config = fleetConfig({ verify: { metricsUrl: "http://127.0.0.1:9/metrics" } });
const root = fs.mkdtempSync(path.join(os.tmpdir(), "zf-inputs-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function runWithout(script: ScriptName, missing: string): { code: number | null; stdout: string } {
  const inputs = Object.fromEntries(Object.entries(scriptInputs(config, "worker-a", script))
    .filter(([name]) => name !== missing).map(([k, v]) => [k, String(v)]));
  const layout = Object.fromEntries(Object.entries(HOST_LAYOUT).map(([k, v]) => [k, v.startsWith("/") ? path.join(root, v) : v]));
  const run = spawnSync("bash", [path.join(SCRIPTS_DIR, `${script}.sh`)], {
    env: { PATH: "/usr/bin:/bin", ...layout, ...inputs }, input: "", encoding: "utf8", timeout: 20_000,
  });
  return { code: run.status, stdout: run.stdout };
}

describe.each(SCRIPT_NAMES)("%s.sh", (script) => {
  const required = Object.entries(SCRIPT_INPUTS[script]).filter(([, spec]) => !spec.optional).map(([name]) => name);

  test.each(required)("without %s: exit 2, naming it", (name) => {
    const r = runWithout(script, name);
    expect(r.stdout).toMatch(new RegExp(`^step=${script} host=\\S* status=fail reason="missing input ${name}"$`, "m"));
    expect(r.code).toBe(2);
  });
});
