// What re-runs a host's rollout: the triggers of its steps, compared between two evaluations of the program.
import { expect, test } from "vitest";
import { unwrapSecrets } from "../../lab/engine/runtime";
import { ProgramDump, existingWorkers, named, runProgramWith, stackConfig } from "./fixtures";

const base = stackConfig(existingWorkers(2));
const triggersOf = (dump: ProgramDump, name: string) => JSON.stringify(unwrapSecrets(named(dump, name).inputs.triggers));
const steps = ["drain", "stop", "deploy", "restart-executor", "start-worker", "verify"];

const first = runProgramWith(base);
const again = runProgramWith(base);
const envChanged = runProgramWith({ ...base, env: { ...(base.env as object), LOG_LEVEL: "debug" } });
const released = runProgramWith({ ...base, release: { ...(base.release as object), version: "v3" } });

test("an unchanged host gets identical triggers and commands: nothing would run", () => {
  for (const step of steps) {
    expect(triggersOf(again, `w2-${step}`)).toBe(triggersOf(first, `w2-${step}`));
    expect(named(again, `w2-${step}`).inputs.create).toBe(named(first, `w2-${step}`).inputs.create);
  }
});

test("an env-only change re-runs every step but the download", () => {
  expect(triggersOf(envChanged, "w2-deploy")).toBe(triggersOf(first, "w2-deploy"));
  for (const step of steps.filter((s) => s !== "deploy")) {
    expect(triggersOf(envChanged, `w2-${step}`), step).not.toBe(triggersOf(first, `w2-${step}`));
  }
});

test("a new release re-runs every step, the download included", () => {
  for (const step of steps) expect(triggersOf(released, `w2-${step}`), step).not.toBe(triggersOf(first, `w2-${step}`));
});

test("the step triggers that hash the .env are secret", () => {
  expect(JSON.stringify(named(first, "w2-drain").inputs.triggers)).toContain("1b47061264138c4ac30d75fd1eb44270");
});
