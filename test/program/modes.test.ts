// Rollout modes under mocks: what the program registers to stop after the canary until promotion, to roll back
// fast, and the line each wave starts with. The engine's side (what a kept input means on the next `up`) is cited
// in components/remote.ts (KEEP_OLD_INPUTS) and shown in the lab (README, "Promote and roll back").
import { describe, expect, test } from "vitest";
import { unwrapSecrets } from "./support/runtime";
import type { Registration } from "./support/runtime";
import { ProgramDump, REMOTE, existingWorkers, named, runProgramWith, stackConfig } from "./fixtures";
import { ancestors, wavesFromGraph } from "./graph";

const LOCAL = "command:local:Command";
const rollout = { waves: [1, 2], maxUnavailable: "50%" };
const six = (extra: Record<string, unknown> = {}) => stackConfig(existingWorkers(6), { rollout: { ...rollout, ...extra } });

const auto = runProgramWith(six());
const manual = runProgramWith(six({ promote: "manual" }));
const promoted = runProgramWith(six({ promote: "manual", promoted: "v2" }));
const rollback = runProgramWith(six({ rollback: "v2" }));

const ROLLOUT = ["env", "units", "drain", "stop", "deploy", "restart-executor", "start-worker", "verify"];
const hostCommands = (dump: ProgramDump, host: string) => dump.registrations.filter((r) => r.type === REMOTE && r.name.startsWith(`${host}-`));
/** Everything the engine diffs and runs of a resource: its inputs, plain. */
const inputsOf = (r: Registration) => JSON.stringify(unwrapSecrets(r.inputs));
const inputsByName = (dump: ProgramDump) => Object.fromEntries(dump.registrations.map((r) => [r.name, inputsOf(r)]));

describe("rollout.promote: manual, the release not promoted", () => {
  test("registers without error, in the same waves as promote: auto", () => {
    expect(manual.error).toBeUndefined();
    expect(wavesFromGraph(manual)).toEqual(wavesFromGraph(auto));
  });

  test("the canary's commands are registered as in promote: auto; every later host's rollout commands keep their inputs", () => {
    for (const r of hostCommands(manual, "w1")) expect(r.ignoreChanges, r.name).toEqual([]);
    expect(named(manual, "w1-canary-gate").ignoreChanges).toEqual([]);
    for (const host of ["w2", "w3", "w4", "w5", "w6"]) {
      for (const step of ROLLOUT) expect(named(manual, `${host}-${step}`).ignoreChanges, `${host}-${step}`).toEqual(["*"]);
      // The host's setup and its decommission are not part of a release: they stay as they are.
      for (const other of ["scripts", "layout", "decommission"]) expect(named(manual, `${host}-${other}`).ignoreChanges).toEqual([]);
    }
  });

  test("no command's inputs depend on the mode: promoting changes only which commands keep their old inputs", () => {
    // So the promoted `up` diffs the new inputs against those in state and runs each waiting chain once, and an
    // `up` after it sees nothing to change.
    // The waves' start lines aside: theirs say that they wait (below).
    const commands = (dump: ProgramDump) => Object.fromEntries(Object.entries(inputsByName(dump)).filter(([name]) => !/-wave-\d+-start$/.test(name)));
    expect(commands(manual)).toEqual(commands(promoted));
    expect(commands(manual)).toEqual(commands(auto));
  });

  test("a promoted release registers exactly what promote: auto registers", () => {
    expect(promoted.error).toBeUndefined();
    const strip = (dump: ProgramDump) => dump.registrations.map((r) => ({ ...r, inputs: inputsOf(r) }));
    expect(strip(promoted)).toEqual(strip(auto));
  });

  test("the update says what waits and how to promote", () => {
    expect(manual.logs).toEqual([{
      severity: "info",
      message: "rollout.promote is manual: this update rolls out v2 on the canary w1 and its gate, then stops; 5 more hosts keep what they run until you promote it (pulumi config set --path 'rollout.promoted' v2, then pulumi up)",
    }]);
    expect(auto.logs).toEqual([]);
    expect(promoted.logs).toEqual([]);
  });

  test("the waiting waves' start lines say they wait, and keep their inputs too", () => {
    expect(unwrapSecrets(named(manual, "fleet-wave-0-start").inputs.create)).toBe("echo 'wave 0/3 starts (canary, then its gate), 1 host: w1'");
    expect(named(manual, "fleet-wave-0-start").ignoreChanges).toEqual([]);
    expect(unwrapSecrets(named(manual, "fleet-wave-1-start").inputs.create)).toBe("echo 'wave 1/3 waits for the promotion of v2 (1 host: w2)'");
    for (const k of [1, 2, 3]) expect(named(manual, `fleet-wave-${k}-start`).ignoreChanges).toEqual(["*"]);
  });

  // The worker outputs: each host's `release` is what its last passed verify reported (release-output.test.ts); a
  // waiting host's verify keeps its old inputs and outputs (ignoreChanges), which mocks cannot show: the lab does.
});

describe("rollout.rollback naming the release", () => {
  test("no canary gate is registered, and the waves are the cap's: 3 and 3", () => {
    expect(rollback.error).toBeUndefined();
    expect(rollback.registrations.filter((r) => r.name.endsWith("-canary-gate"))).toEqual([]);
    expect(wavesFromGraph(rollback).map((w) => [...w].sort())).toEqual([["w1", "w2", "w3"], ["w4", "w5", "w6"]]);
  });

  test("every host is still drained before its stop, and the second wave waits for the first wave's verify", () => {
    for (const host of ["w1", "w2", "w3", "w4", "w5", "w6"]) expect(ancestors(rollback, `${host}-stop`)).toContain(`${host}-drain`);
    const before = ancestors(rollback, "w4-drain");
    for (const host of ["w1", "w2", "w3"]) expect(before).toContain(`${host}-verify`);
  });

  test("the hosts' commands are those of a rollout: a rollback re-runs what a release change re-runs, no more", () => {
    const commands = (dump: ProgramDump) => Object.fromEntries(dump.registrations
      .filter((r) => r.type === REMOTE && !r.name.endsWith("-canary-gate")).map((r) => [r.name, inputsOf(r)]));
    expect(commands(rollback)).toEqual(commands(auto));
  });

  test("the first wave's line says it is a rollback", () => {
    expect(unwrapSecrets(named(rollback, "fleet-wave-0-start").inputs.create)).toBe("echo 'wave 0/1 starts (rollback to v2, no canary gate), 3 hosts: w1 w2 w3'");
  });
});

describe("the line each wave starts with", () => {
  test("is a local command per wave, after the previous wave's barrier, before every command of its wave", () => {
    const starts = auto.registrations.filter((r) => r.type === LOCAL && /-wave-\d+-start$/.test(r.name)).map((r) => r.name);
    expect(starts).toEqual(["fleet-wave-0-start", "fleet-wave-1-start", "fleet-wave-2-start", "fleet-wave-3-start"]);
    expect([...ancestors(auto, "fleet-wave-2-start")]).toContain("fleet-wave-1-passed");
    for (const step of ROLLOUT) expect(ancestors(auto, `w3-${step}`), step).toContain("fleet-wave-2-start");
    expect(ancestors(auto, "w3-drain")).not.toContain("fleet-wave-3-start");
    expect(unwrapSecrets(named(auto, "fleet-wave-2-start").inputs.create)).toBe("echo 'wave 2/3 starts (v2), 2 hosts: w3 w4'");
  });

  test("prints again when its hosts roll (a new release), and not when nothing changed", () => {
    const again = runProgramWith(six());
    const released = runProgramWith(stackConfig(existingWorkers(6), {
      rollout, release: { ...(six().release as object), version: "v3" },
    }));
    expect(inputsOf(named(again, "fleet-wave-2-start"))).toBe(inputsOf(named(auto, "fleet-wave-2-start")));
    expect(JSON.stringify(unwrapSecrets(named(released, "fleet-wave-2-start").inputs.triggers)))
      .not.toBe(JSON.stringify(unwrapSecrets(named(auto, "fleet-wave-2-start").inputs.triggers)));
  });

  test("other waves change its line, never a host command: the wave-mates are in no host's inputs", () => {
    const rewaved = runProgramWith(stackConfig(existingWorkers(6), { rollout: { waves: [1], maxUnavailable: 1 } }));
    const hostInputs = (dump: ProgramDump) => Object.fromEntries(dump.registrations.filter((r) => r.type === REMOTE).map((r) => [r.name, inputsOf(r)]));
    expect(hostInputs(rewaved)).toEqual(hostInputs(auto));
    expect(unwrapSecrets(named(rewaved, "fleet-wave-2-start").inputs.create)).toBe("echo 'wave 2/5 starts (v2), 1 host: w3'");
  });
});
