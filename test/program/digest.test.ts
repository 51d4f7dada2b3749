// The program digest (components/program-digest.ts) mirrors worker.ts: the command texts it derives for a host are
// those the program registers, and the triggers it compares are those the program's steps carry. Without this, a
// change to how worker.ts builds a command could go unseen by `npm run plan -- --base <git ref>`.
import * as path from "node:path";
import { expect, test } from "vitest";
import { loadProgram } from "../../cli/base-ref";
import { validateFleetConfig } from "../../components/config-load";
import { hostCommands, programDigest } from "../../components/program-digest";
import { unwrapSecrets } from "../../lab/engine/runtime";
import { existingWorkers, named, runProgramWith, stackConfig } from "./fixtures";

const ROOT = path.join(__dirname, "..", "..");

test.each([["root", "root"], ["a sudo user", "deploy"]])("as %s: every command text and trigger is the program's", async (_what, user) => {
  const raw = stackConfig(existingWorkers(2));
  raw.ssh = { ...(raw.ssh as object), user };
  const dump = runProgramWith(raw);
  expect(dump.error).toBeUndefined();
  const config = validateFleetConfig(raw, { source: "test", secretsRequired: true });
  const mods = await loadProgram(ROOT);
  const commands = hostCommands(mods, config, "w1");
  for (const step of ["layout", "env", "units", "drain", "stop", "deploy", "restart-executor", "start-worker", "verify", "canary-gate"] as const) {
    expect(named(dump, `w1-${step}`).inputs.create, step).toBe(commands[step]);
  }
  expect(named(dump, "w1-decommission").inputs.delete).toBe(commands.decommission);
  expect(unwrapSecrets(named(dump, "w1-layout").inputs.stdin)).toBe(mods.deployBundle());
  const digest = programDigest(mods, config);
  expect(unwrapSecrets(named(dump, "w1-deploy").inputs.triggers)).toContain(digest["trigger:release"].digest);
  for (const step of ["drain", "verify"]) {
    const triggers = unwrapSecrets(named(dump, `w1-${step}`).inputs.triggers);
    expect(triggers).toContain(digest["trigger:scripts"].digest);
    expect(triggers).toContain(digest["trigger:host"].digest);
  }
}, 240_000);
