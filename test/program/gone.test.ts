// The way out for a host that no longer exists (pulumi-command#104): `gone: true` runs nothing on it and marks
// its decommission to be dropped from state, not run, once the worker is removed.
import { expect, test } from "vitest";
import { REMOTE, existingWorkers, named, runProgramWith, stackConfig } from "./fixtures";

const workers = existingWorkers(3).map((w) => (w.name === "w3" ? { ...w, gone: true } : w));
const dump = runProgramWith(stackConfig(workers));
const withTailnet = runProgramWith(stackConfig(workers, { tailscale: { enabled: true } }));

test("a gone worker gets no command but its decommission, which is retained on delete", () => {
  expect(dump.error).toBeUndefined();
  const mine = dump.registrations.filter((r) => r.type === REMOTE && r.name.startsWith("w3-"));
  expect(mine.map((r) => r.name)).toEqual(["w3-decommission"]);
  expect(named(dump, "w3-decommission").retainOnDelete).toBe(true);
  // Its stored inputs stay as they are: an update would run `create` on a host that is not there.
  expect(named(dump, "w3-decommission").ignoreChanges).toEqual(expect.arrayContaining(["connection", "create", "delete"]));
});

test("with Tailscale, a gone worker's device is not looked up (it may be gone from the tailnet too)", () => {
  expect(withTailnet.error).toBeUndefined();
  expect(withTailnet.registrations.filter((r) => r.name.startsWith("w3-tailnet"))).toEqual([]);
  expect(withTailnet.registrations.some((r) => r.name === "w2-tailnet-join")).toBe(true);
});

test("the other workers' decommissions still run on delete", () => {
  expect(named(dump, "w1-decommission").retainOnDelete).toBe(false);
  expect(named(dump, "w2-decommission").retainOnDelete).toBe(false);
});

test("a gone worker cannot be the canary", () => {
  const bad = runProgramWith(stackConfig(workers, { rollout: { canary: "w3" } }));
  expect(bad.registrations).toEqual([]);
  expect(bad.error).toMatch(/rollout\.canary: names a held worker/);
});

test("a worker's tailnet device settings are dropped from state when it leaves, never reset through the Tailscale API", () => {
  // Their delete calls SetKey / SetTags([]) on the device and fails once it is gone (tailscale.ts): a removed,
  // gone or reinstalled worker's device no longer exists when they are deleted or replaced.
  const device = withTailnet.registrations.filter((r) => /^tailscale:index\/device(Key|Tags):/.test(r.type));
  expect(device.map((r) => r.name).sort()).toEqual(["w1-tailnet-device-key", "w1-tailnet-device-tags", "w2-tailnet-device-key", "w2-tailnet-device-tags"]);
  for (const r of device) expect(r.retainOnDelete, r.name).toBe(true);
  // The single-use key's delete ignores "not found" (resource_tailnet_key.go, Delete): it is deleted as usual.
  expect(named(withTailnet, "w1-tailnet-key").retainOnDelete).toBe(false);
});
