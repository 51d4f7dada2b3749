// The lab engine's reproduction of the command provider and engine rules (the parts that need no host).
import { describe, expect, test } from "vitest";
import { operationFor } from "../../lab/engine/provider";
import { ResourceState, deletionOrder } from "../../lab/engine/state";

const stored = (inputs: Record<string, unknown>, extra: Partial<ResourceState> = {}): ResourceState => ({
  urn: "urn:a", type: "command:remote:Command", name: "a", inputs, outputs: {}, dependencies: [], retainOnDelete: false, ...extra,
});

describe("operationFor (pulumi-command diff rules)", () => {
  const base = { create: "run", triggers: ["fp1"], connection: { host: "h" } };
  test.each([
    ["nothing stored", undefined, base, "create"],
    ["identical inputs", stored(base), { ...base }, "same"],
    ["changed triggers", stored(base), { ...base, triggers: ["fp2"] }, "replace"],
    ["triggers appear", stored({ create: "run" }), { create: "run", triggers: ["x"] }, "replace"],
    ["changed create text", stored(base), { ...base, create: "run --v2" }, "update"],
    ["changed connection", stored(base), { ...base, connection: { host: "h2" } }, "update"],
    ["changed stdin", stored(base), { ...base, stdin: "new" }, "update"],
  ])("%s → %s", (_label, old, inputs, expected) => {
    expect(operationFor(old, inputs)).toBe(expected);
  });
});

describe("deletionOrder (dependents before their dependencies)", () => {
  test("a decommission goes before the server and tailnet it depends on", () => {
    const server = stored({}, { urn: "server", name: "server" });
    const join = stored({}, { urn: "join", name: "join", dependencies: ["server"] });
    const decommission = stored({}, { urn: "decom", name: "decom", dependencies: ["server", "join"] });
    const levels = deletionOrder([server, decommission, join]).map((l) => l.map((r) => r.name));
    expect(levels).toEqual([["decom"], ["join"], ["server"]]);
  });

  test("independent resources are deleted together", () => {
    const levels = deletionOrder([stored({}, { urn: "x", name: "x" }), stored({}, { urn: "y", name: "y" })]);
    expect(levels.map((l) => l.map((r) => r.name).sort())).toEqual([["x", "y"]]);
  });

  test("a dependency that is not being deleted does not block", () => {
    const levels = deletionOrder([stored({}, { urn: "x", name: "x", dependencies: ["kept"] })]);
    expect(levels.map((l) => l.map((r) => r.name))).toEqual([["x"]]);
  });
});

describe("LabCommandProvider.remove", () => {
  test("drops a retained resource from state without running its delete", async () => {
    const { LabCommandProvider } = await import("../../lab/engine/provider");
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-engine-"));
    const res = stored({ delete: "exit 7", connection: { host: "192.0.2.1" } }, { retainOnDelete: true });
    const state = { version: 1 as const, resources: { [res.urn]: res } };
    const events: unknown[] = [];
    const provider = new LabCommandProvider({ state, statePath: path.join(dir, "state.json"), ssh: { workDir: dir }, onProgress: (e) => events.push(e) });
    await provider.remove(res);
    expect(state.resources).toEqual({});
    expect(events).toEqual([]); // nothing was executed (192.0.2.1 is unroutable: a run would have failed)
    expect(provider.tally.counts.delete).toBe(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("LabCommandProvider.register", () => {
  test("keeps a local command with nothing to run (a wave barrier) in the program's state, running nothing", async () => {
    const { LabCommandProvider } = await import("../../lab/engine/provider");
    const state = { version: 1 as const, resources: {} };
    const events: unknown[] = [];
    const provider = new LabCommandProvider({ state, statePath: "/nonexistent/state.json", ssh: { workDir: "/nonexistent" }, onProgress: (e) => events.push(e) });
    const barrier = { urn: "urn:b", type: "command:local:Command", name: "fleet-wave-0-passed", parent: "", custom: true, inputs: {}, dependencies: ["urn:gate"], retainOnDelete: false, ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false };
    await expect(provider.register(barrier)).resolves.toEqual({ id: "fleet-wave-0-passed-id", state: {} });
    expect(events).toEqual([]);
    // A local command that would run something is still refused: the lab cannot reproduce it.
    await expect(provider.register({ ...barrier, inputs: { create: "true" } })).rejects.toThrow(/cannot run command:local:Command/);
  });
});
