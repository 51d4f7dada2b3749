// Nothing with a `delete` command may be replaced: the engine runs a replaced resource's delete at the end of the
// whole update (facts/pulumi.md), so a replaced decommission would drain and stop its host after the rollout
// "finished", outside any wave. The command provider replaces only on `triggers` (pulumi-command v1.2.1:
// `provider:"replaceOnChanges"` on Triggers alone, provider/pkg/provider/common/inputs.go and remote/command.go);
// a changed URN (name, type or parent) is a create of a new resource and a delete of the old one, the same thing.
import { expect, test } from "vitest";
import { unwrapSecrets } from "./support/runtime";
import { existingWorkers, runProgramWith, stackConfig } from "./fixtures";

const raw = stackConfig([
  ...existingWorkers(3),
  { name: "gone1", host: { address: "192.0.2.50" }, gone: true },
  { name: "held1", host: { address: "192.0.2.51" }, hold: "disk swap" },
  { name: "adopted", ovh: { serviceName: "ns501.ip-51-79-10.net" } },
  { name: "ordered", ovh: { order: { plan: "24rise01", datacenter: "bhs", os: "debian12_64" } } },
], { tailscale: { enabled: true } });
const dump = runProgramWith(raw);
const withDelete = dump.registrations.filter((r) => typeof (unwrapSecrets(r.inputs) as Record<string, unknown>).delete === "string");

test("every worker's decommission is the only resource with a delete command", () => {
  expect(dump.error).toBeUndefined();
  expect(withDelete.map((r) => r.name).sort()).toEqual(
    ["adopted", "gone1", "held1", "ordered", "w1", "w2", "w3"].map((w) => `${w}-decommission`),
  );
});

test("a resource with a delete command has no triggers, so no input change can replace it", () => {
  for (const r of withDelete) {
    expect(r.inputs.triggers, r.name).toBeUndefined();
    // The SDK asks for replacement on `triggers[*]` only: with no triggers, nothing replaces it.
    expect(r.replaceOnChanges.every((p) => p.startsWith("triggers")), `${r.name}: ${r.replaceOnChanges.join(", ")}`).toBe(true);
  }
});

test("a decommission keeps its URN: a child of its Worker, itself a child of the fleet, named after the worker", () => {
  const byUrn = new Map(dump.registrations.map((r) => [r.urn, r]));
  for (const r of withDelete) {
    const worker = byUrn.get(r.parent);
    expect(r.type).toBe("command:remote:Command");
    expect([worker?.type, `${worker?.name}-decommission`]).toEqual(["zombie:fleet:Worker", r.name]);
    expect(byUrn.get(worker!.parent)?.type).toBe("zombie:fleet:Fleet");
  }
});
