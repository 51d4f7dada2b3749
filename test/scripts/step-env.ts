// The inputs the program gives a step script (host/steps.ts, on the minimal stack config), for a script test to
// override what it is about: each script is tested with the inputs it really gets, and none it does not.
import { scriptInputs } from "../../host/step-inputs";
import { ScriptName } from "../../host/steps";
import { fleetConfig } from "../fixtures/minimal-fleet-config";

const CONFIG = fleetConfig();

/** `script`'s inputs from the contract (ZF_HOST left to the harness), with `over` laid over them. */
export function stepEnv(script: ScriptName, over: Record<string, string | number | undefined> = {}): Record<string, string | number | undefined> {
  const { ZF_HOST: _host, ...inputs } = scriptInputs(CONFIG, "zf-test-1", script);
  return { ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, typeof v === "boolean" ? String(v) : v])), ...over };
}
