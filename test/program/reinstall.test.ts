// The reinstall of an adopted server (issue 11 item 1): in its wave, after its drain and stop, exactly once, with
// the fleet's key and hostname, followed by its whole setup; the server resource itself never changes.
import { expect, test } from "vitest";
import { tailnetKeyDescription } from "../../host/provider-limits";
import { unwrapSecrets } from "./support/runtime";
import { ProgramDump, REMOTE, byType, named, runProgramWith, stackConfig } from "./fixtures";

const TASK = "ovh:Dedicated/serverReinstallTask:ServerReinstallTask";
const workers = (reinstall?: { os: string }) => [
  { name: "canary", host: { address: "198.51.100.7" } },
  { name: "box", ovh: { serviceName: "ns502.ip-51-79-11.net", ...(reinstall ? { reinstall } : {}) } },
];
const options = { rollout: { canary: "canary", waves: [1], maxUnavailable: 1 }, tailscale: { enabled: true, tags: ["tag:zombie-worker"] } };
const raw = stackConfig(workers({ os: "debian12_64" }), options);
const dump = runProgramWith(raw);
const again = runProgramWith(raw);
const kept = runProgramWith(stackConfig(workers(), options));
const nameOf = (d: ProgramDump) => new Map(d.registrations.map((r) => [r.urn, r.name]));
const depsOf = (d: ProgramDump, name: string) => named(d, name).dependencies.map((u) => nameOf(d).get(u));

/** Every resource `name` depends on, directly or through others. */
function ancestors(d: ProgramDump, name: string, seen = new Set<string>()): Set<string> {
  for (const dep of depsOf(d, name)) {
    if (dep && !seen.has(dep)) { seen.add(dep); ancestors(d, dep, seen); }
  }
  return seen;
}

test("the program registers without error", () => {
  expect(dump.error).toBeUndefined();
});

test("asking for a reinstall does not change the server resource", () => {
  expect(named(dump, "box-server").inputs).toEqual(named(kept, "box-server").inputs);
  expect(named(dump, "box-server").ignoreChanges).toEqual(named(kept, "box-server").ignoreChanges);
  expect(unwrapSecrets(named(dump, "box-server").inputs)).toMatchObject({ preventInstallOnCreate: true });
});

test("exactly one reinstall task, with the fleet's key and the worker's hostname, never repeated by a key change", () => {
  const tasks = byType(dump, TASK);
  expect(tasks.map((t) => t.name)).toEqual(["box-reinstall"]);
  expect(unwrapSecrets(tasks[0].inputs)).toEqual({
    serviceName: "ns502.ip-51-79-11.net",
    os: "debian12_64",
    customizations: { hostname: "box", sshKey: (raw.ssh as { publicKey: string }).publicKey },
  });
  // os and serviceName are ForceNew in the provider: another value is another reinstall, the same one none.
  expect(tasks[0].ignoreChanges).toEqual(["customizations"]);
  expect(named(again, "box-reinstall").inputs).toEqual(tasks[0].inputs);
  expect(byType(kept, TASK)).toEqual([]);
});

test("the reinstall runs in the host's wave, after its drain and stop on the old system", () => {
  // The wave's start line waits for the previous wave's barrier; everything of the wave waits for that line.
  expect(depsOf(dump, "fleet-wave-1-start")).toEqual(["fleet-wave-0-passed"]);
  expect(depsOf(dump, "box-reinstall")).toEqual(expect.arrayContaining(["box-stop-before-reinstall", "fleet-wave-1-start"]));
  expect(depsOf(dump, "box-stop-before-reinstall")).toEqual(expect.arrayContaining(["box-drain-before-reinstall", "fleet-wave-1-start"]));
  expect(depsOf(dump, "box-drain-before-reinstall")).toEqual(expect.arrayContaining(["box-scripts-before-reinstall", "fleet-wave-1-start"]));
  expect(String(named(dump, "box-drain-before-reinstall").inputs.create)).toMatch(/run\.sh' drain$/);
  expect(String(named(dump, "box-stop-before-reinstall").inputs.create)).toMatch(/run\.sh' stop$/);
  // Over the public address: the tailnet membership is replaced after the reinstall.
  const conn = unwrapSecrets(named(dump, "box-drain-before-reinstall").inputs.connection) as { host: string };
  expect(conn.host).toMatch(/^203\.0\.113\./);
  // Once per requested OS.
  expect(JSON.stringify(unwrapSecrets(named(dump, "box-stop-before-reinstall").inputs.triggers))).toContain("debian12_64");
});

test("the host's whole setup and chain come after the reinstall and carry its identity", () => {
  const setup = ["box-scripts", "box-tailnet-join", "box-layout", "box-env", "box-units",
    "box-drain", "box-stop", "box-deploy", "box-restart-executor", "box-start-worker", "box-verify"];
  for (const name of setup) {
    expect(ancestors(dump, name).has("box-reinstall"), name).toBe(true);
    expect(JSON.stringify(unwrapSecrets(named(dump, name).inputs.triggers)), name).toContain("box-reinstall-id");
  }
  // The key's description hashes the identity (50 characters at most, provider-limits.ts): a fresh key per reinstall.
  expect(String(unwrapSecrets(named(dump, "box-tailnet-key").inputs.description)))
    .toBe(tailnetKeyDescription("box", "ns502.ip-51-79-11.net/reinstalled/box-reinstall-id"));
});

test("a worker without a reinstall gets no pre-reinstall commands", () => {
  const names = byType(kept, REMOTE).map((r) => r.name);
  expect(names.filter((n) => n.includes("before-reinstall"))).toEqual([]);
});
