// The step contract (host/steps.ts) is the one definition of each script's inputs and of each step's time: the
// scripts' `# Inputs:` headers, lib.sh's host layout, the commands the program builds and the plan's budgets are
// held to it here. (That each script refuses a missing input: test/scripts/inputs.test.ts.)
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { FleetConfig } from "../../config/schema";
import { hostSpecs } from "../../host/commands";
import { SCRIPTS_DIR } from "../../host/script-command";
import { scriptInputs } from "../../host/step-inputs";
import {
  HOST_LAYOUT, InputUnit, ROLLOUT_STEPS, SCRIPT_INPUTS, SCRIPT_NAMES, STDIN_INPUTS, ScriptName, StepName, stepBudgets,
} from "../../host/steps";
import { renderUnits } from "../../host/units";
import { fleetConfig } from "../fixtures/minimal-fleet-config";

const read = (file: string) => fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");

/** The ZF_* names a script's header declares in its `# Inputs:` block (up to the next `# Word:` line). */
export function declaredInputs(text: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith("# Inputs:"));
  if (start < 0) return [];
  const block = [lines[start]];
  for (const line of lines.slice(start + 1)) {
    if (!/^#\s{2,}/.test(line)) break;
    block.push(line);
  }
  return [...new Set(block.join("\n").match(/\bZF_[A-Z0-9_]+\b/g) ?? [])].sort();
}

const CONFIGS: [string, FleetConfig][] = [
  ["the defaults", fleetConfig()],
  ["metrics, no tailnet, no auto-revert, a short drain", fleetConfig({
    verify: { metricsUrl: "http://127.0.0.1:9100/metrics" }, tailscale: { enabled: false },
    rollout: { autoRevert: false, drainDeadline: "20s", onDrainDeadline: "proceed" }, env: { RUN_TIMEOUT_MS: "10000" },
  })],
];

const UNIT_CHECK: Record<InputUnit, (v: unknown) => boolean> = {
  seconds: (v) => typeof v === "number" && v >= 0,
  count: (v) => Number.isInteger(v) && (v as number) >= 1,
  "true|false": (v) => typeof v === "boolean",
  "fail|proceed": (v) => v === "fail" || v === "proceed",
  signal: (v) => typeof v === "string" && /^SIG[A-Z0-9]+$/.test(v),
  text: (v) => typeof v === "string" && v.length > 0,
  name: (v) => typeof v === "string" && v.length > 0,
  list: (v) => typeof v === "string" && v.length > 0,
  url: (v) => typeof v === "string" && /^[a-z]+:\/\//.test(v),
  sha256: (v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v),
};

describe.each(SCRIPT_NAMES)("%s.sh", (script) => {
  test("its header declares exactly the inputs the contract gives it (besides lib.sh's host layout)", () => {
    const layout = new Set(Object.keys(HOST_LAYOUT));
    const stdin: string[] = Object.values((STDIN_INPUTS as Partial<Record<ScriptName, Record<string, string>>>)[script] ?? {});
    expect(declaredInputs(read(`${script}.sh`)).filter((n) => !layout.has(n)))
      .toEqual([...Object.keys(SCRIPT_INPUTS[script]), ...stdin].sort());
  });

  test.each(CONFIGS)("with %s, the builder gives every required input, each in its unit", (_what, config) => {
    const inputs = scriptInputs(config, "worker-a", script);
    for (const [name, spec] of Object.entries(SCRIPT_INPUTS[script])) {
      if (spec.optional && !(name in inputs)) continue;
      expect(name in inputs, name).toBe(true);
      expect(UNIT_CHECK[spec.unit](inputs[name]), `${name}=${String(inputs[name])} (${spec.unit})`).toBe(true);
    }
    expect(Object.keys(inputs).every((name) => name in SCRIPT_INPUTS[script])).toBe(true);
  });
});

test("lib.sh's host layout is the contract's", () => {
  const set = Object.fromEntries([...read("lib.sh").matchAll(/^(ZF_[A-Z_]+)=\$\{\1:-([^}]*)\}$/gm)].map((m) => [m[1], m[2]]));
  expect(set).toEqual(HOST_LAYOUT);
});

test("the header parser finds what a header declares, and stops at the next field", () => {
  const text = "# Summary: x ZF_NOT\n# Inputs:  ZF_A (s), ZF_B\n#          ZF_C; stdin\n# Output:  ZF_D\nZF_E=1\n";
  expect(declaredInputs(text)).toEqual(["ZF_A", "ZF_B", "ZF_C"]);
});

// Every input a command carries, as `KEY='value'` words of its text (the one quoting function).
const assignments = (command: string) =>
  Object.fromEntries([...command.matchAll(/ (ZF_[A-Z0-9_]+)='((?:[^']|'\\'')*)'/g)].map((m) => [m[1], m[2].replace(/'\\''/g, "'")]));

test.each(CONFIGS)("with %s, every command of a host carries exactly its script's inputs from the builder", (_what, config) => {
  const steps: StepName[] = [...ROLLOUT_STEPS, "canary-gate"];
  const specs = hostSpecs<string>(config, "worker-a", renderUnits(config), {
    identity: "i", release: "r", host: "h", envText: "A=1\n", authKey: "k",
  }, steps);
  const commands: [ScriptName, string][] = [
    ["layout", specs.setup.layout.create], ["write-env", specs.setup.env.create], ["install-units", specs.setup.units.create],
    ...(specs.setup.tailnet ? [["tailscale-join", specs.setup.tailnet.create] as [ScriptName, string]] : []),
    ...specs.rollout.map((r): [ScriptName, string] => [r.step, r.spec.create]),
    ["decommission", specs.decommission.delete!],
  ];
  expect(commands.length).toBeGreaterThanOrEqual(SCRIPT_NAMES.length - (config.tailscale.enabled ? 0 : 1));
  const unitLines = String(specs.setup.units.stdin?.value).trimEnd().split("\n").map((l) => l.split("=")[0]);
  expect(unitLines).toEqual(Object.values(STDIN_INPUTS["install-units"]));
  for (const [script, command] of commands) {
    const expected = Object.fromEntries(Object.entries(scriptInputs(config, "worker-a", script)).map(([k, v]) => [k, String(v)]));
    expect(assignments(command), script).toEqual(expected);
  }
});

/**
 * The longest each rollout step's script can wait, from the inputs it gets (read off the scripts: drain.sh either
 * stops a crash-looping worker or waits for the drain; verify.sh's command and restarts each take ZF_STEP_TIMEOUT,
 * its revert drains, then stops within ZF_STOP_TIMEOUT). The plan's budget must be exactly that.
 */
const WAITS: Record<StepName, (i: Record<string, number | string | boolean>) => number> = {
  drain: (i) => Math.max(Number(i.ZF_DRAIN_DEADLINE), Number(i.ZF_STEP_TIMEOUT)),
  stop: (i) => Number(i.ZF_STEP_TIMEOUT),
  deploy: (i) => Number(i.ZF_STEP_TIMEOUT),
  "restart-executor": (i) => Number(i.ZF_STEP_TIMEOUT),
  "start-worker": (i) => Number(i.ZF_STEP_TIMEOUT),
  verify: (i) => Number(i.ZF_STEP_TIMEOUT) + Number(i.ZF_MIN_HEALTHY) + (i.ZF_AUTO_REVERT === true
    ? Number(i.ZF_DRAIN_DEADLINE) + Number(i.ZF_STOP_TIMEOUT) + 3 * Number(i.ZF_STEP_TIMEOUT) : 0),
  "canary-gate": (i) => Number(i.ZF_CANARY_DEADLINE),
};

test.each(CONFIGS)("with %s, each step's budget in the plan is the longest its script waits with its inputs", (_what, config) => {
  const budgets = stepBudgets(config);
  for (const step of [...ROLLOUT_STEPS, "canary-gate"] as StepName[]) {
    expect(budgets[step], step).toBe(WAITS[step](scriptInputs(config, "worker-a", step)));
  }
});
