// compareDigests: which commands of a host a difference between two versions of the program re-runs. The two
// versions here are this checkout's program and the same with one command's spec altered.
import * as path from "node:path";
import { expect, test } from "vitest";
import { loadProgram } from "../../cli/base-ref";
import type { HostSpecs } from "../../host/commands";
import { ProgramModules, compareDigests, programDigest } from "../../plan/program-digest";
import { fleetConfig } from "../fixtures/minimal-fleet-config";

const config = fleetConfig();

/** This checkout's program with `alter` applied to what it gives a host. */
async function altered(alter: (specs: HostSpecs<string>) => void): Promise<ProgramModules> {
  const mods = await loadProgram(path.join(__dirname, "..", ".."));
  return {
    ...mods,
    hostSpecs: ((...args: Parameters<ProgramModules["hostSpecs"]>) => {
      const specs = mods.hostSpecs<string>(...(args as Parameters<typeof mods.hostSpecs<string>>));
      alter(specs);
      return specs;
    }) as ProgramModules["hostSpecs"],
  };
}

test("a changed output logging re-runs that command alone (an update runs create again)", async () => {
  const head = await loadProgram(path.join(__dirname, "..", ".."));
  const base = await altered((s) => { s.setup.env.logging = "stdoutAndStderr"; });
  const change = compareDigests(programDigest(base, config), programDigest(head, config));
  expect(change.changes).toEqual(["the output logging changed: env"]);
  expect([...change.reruns]).toEqual(["env"]);
});

test("a changed decommission is named but re-runs nothing on an active host", async () => {
  const head = await loadProgram(path.join(__dirname, "..", ".."));
  const base = await altered((s) => { s.decommission.delete = `${s.decommission.delete} --old`; });
  const change = compareDigests(programDigest(base, config), programDigest(head, config));
  expect(change.changes).toEqual(["the stored delete command changed: decommission"]);
  expect(change.reruns.size).toBe(0);
});
