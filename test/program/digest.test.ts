// The program digest (plan/program-digest.ts) reads host/commands.ts, which worker.ts builds its
// resources from: here the specs it digests are held to what the program registers under mocks, command by
// command and input by input. Without this, a command worker.ts built some other way could go unseen by
// `npm run plan -- --base <git ref>`.
import * as path from "node:path";
import { expect, test } from "vitest";
import { loadProgram } from "../../cli/base-ref";
import { validateFleetConfig } from "../../config/load";
import { programSpecs } from "../../plan/program-digest";
import { unwrapSecrets } from "./support/runtime";
import { REMOTE, byType, existingWorkers, runProgramWith, stackConfig } from "./fixtures";

const ROOT = path.join(__dirname, "..", "..");

test.each([
  ["root", "root", false], ["a sudo user", "deploy", false], ["root, joining the tailnet", "root", true],
])("as %s: every command of the canary host is the digest's spec", async (_what, user, tailnet) => {
  const raw = stackConfig(existingWorkers(2), tailnet ? { tailscale: { enabled: true, tags: ["tag:zombie-worker"] } } : {});
  raw.ssh = { ...(raw.ssh as object), user };
  const dump = runProgramWith(raw);
  expect(dump.error).toBeUndefined();
  const config = validateFleetConfig(raw, { source: "test", secretsRequired: true });
  const mods = await loadProgram(ROOT);
  // w1 is the canary: it runs every rollout step the digest covers. An existing host's identity is its address.
  const specs = programSpecs(mods, config, "w1", "192.0.2.1");
  const expected = new Map([
    ...Object.entries(specs.setup), ...specs.rollout.map((r) => [r.step, r.spec] as const), ["decommission", specs.decommission] as const,
  ].map(([command, spec]) => [`w1-${command === "tailnet" ? "tailnet-join" : command}`, spec]));
  const registered = byType(dump, REMOTE).filter((r) => r.name.startsWith("w1-"));
  expect(registered.map((r) => r.name).sort()).toEqual([...expected.keys()].sort());
  for (const reg of registered) {
    const spec = expected.get(reg.name)!;
    const inputs = unwrapSecrets(reg.inputs) as Record<string, unknown>;
    expect(inputs.create, reg.name).toBe(spec.create);
    expect(inputs.delete, reg.name).toBe(spec.delete);
    // The join's auth key is a resource output (a mock's here); the digest stands in a placeholder for it.
    if (reg.name === "w1-tailnet-join") expect(inputs.stdin).toBeDefined();
    else expect(inputs.stdin, reg.name).toBe(spec.stdin?.value);
    expect(inputs.triggers, reg.name).toEqual(spec.triggers?.map((t) => t.value));
    expect(inputs.logging, reg.name).toBe(spec.logging);
  }
}, 240_000);
