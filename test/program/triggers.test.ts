// What re-runs a host's rollout: the triggers of its steps, compared between two evaluations of the program.
import { expect, test } from "vitest";
import { unwrapSecrets } from "./support/runtime";
import { ProgramDump, existingWorkers, named, runProgramWith, runProgramWithScripts, stackConfig } from "./fixtures";

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

// What a script change re-runs (issue 14): the commands call installed scripts, so the triggers decide.
const rerun = (after: ProgramDump, name: string) => triggersOf(after, name) !== triggersOf(first, name);
const sameCommand = (after: ProgramDump, name: string) => named(after, name).inputs.create === named(first, name).inputs.create;
const setupSteps = ["layout", "env", "units"];
const stopEdited = runProgramWithScripts(base, { "stop.sh": (text) => `${text}\n# a one-line fix\n` });
const helperEdited = runProgramWithScripts(base, { "lib-units.sh": (text) => `${text}\n# a one-line fix\n` });
const layoutEdited = runProgramWithScripts(base, { "layout.sh": (text) => `${text}\n# a one-line fix\n` });

test("a changed rollout script re-runs every host's whole chain from its drain, and no setup step", () => {
  for (const after of [stopEdited, helperEdited]) {
    for (const host of ["w1", "w2"]) {
      for (const step of steps) expect(rerun(after, `${host}-${step}`), `${host}-${step}`).toBe(true);
      for (const step of setupSteps) expect(rerun(after, `${host}-${step}`), `${host}-${step}`).toBe(false);
    }
    expect(rerun(after, "w1-canary-gate")).toBe(true);
  }
});

test("a script no rollout step runs re-runs its own step and no rollout step", () => {
  for (const host of ["w1", "w2"]) {
    expect(rerun(layoutEdited, `${host}-layout`)).toBe(true);
    for (const step of [...steps, "env", "units"]) expect(rerun(layoutEdited, `${host}-${step}`), `${host}-${step}`).toBe(false);
  }
});

test("a script change never changes a command's text (an update would run a stop without its drain)", () => {
  for (const after of [stopEdited, helperEdited, layoutEdited]) {
    for (const step of [...steps, ...setupSteps]) expect(sameCommand(after, `w2-${step}`), step).toBe(true);
  }
});

test("a script change ships a new bundle to every host", () => {
  for (const after of [stopEdited, helperEdited, layoutEdited]) {
    for (const host of ["w1", "w2"]) {
      expect(named(after, `${host}-scripts`).inputs.stdin).not.toBe(named(first, `${host}-scripts`).inputs.stdin);
    }
  }
  expect(named(again, "w2-scripts").inputs.stdin).toBe(named(first, "w2-scripts").inputs.stdin);
  expect(named(again, "w2-scripts").inputs.create).toBe(named(first, "w2-scripts").inputs.create);
});
