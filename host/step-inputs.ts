// The inputs of each remote step script, derived from stack config by the step contract (steps.ts). PURE. None of
// them may carry a secret (secrets travel on stdin).
import { FleetConfig } from "../config/schema";
import { ScriptInputs } from "./script-command";
import { SCRIPT_INPUTS, ScriptName, StepName } from "./steps";

/** The inputs `script` gets on `host`: every input the contract lists, an optional one only when it has a value. */
export function scriptInputs(config: FleetConfig, host: string, script: ScriptName): ScriptInputs {
  const out: ScriptInputs = {};
  for (const [name, spec] of Object.entries(SCRIPT_INPUTS[script])) {
    const value = spec.value(config, host);
    if (value === undefined) {
      if (!spec.optional) throw new Error(`${script}.sh input ${name} (${spec.from}) has no value`);
      continue;
    }
    out[name] = value;
  }
  return out;
}

/** Inputs of one rollout step on one host. */
export function rolloutStepInputs(config: FleetConfig, host: string, step: StepName): ScriptInputs {
  return scriptInputs(config, host, step);
}
