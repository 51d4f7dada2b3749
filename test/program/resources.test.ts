// The resources each kind of worker gets, and the safety settings on the ones that can destroy a server.
import { describe, expect, test } from "vitest";
import { fakeDevice } from "./support/fakes";
import { isSecretWrapper, unwrapSecrets } from "./support/runtime";
import { REMOTE, byType, named, runProgramWith, stackConfig } from "./fixtures";

const SERVER = "ovh:Dedicated/server:Server";
const raw = stackConfig([
  { name: "adopted", ovh: { serviceName: "ns501.ip-51-79-10.net" } },
  { name: "ordered", ovh: { order: { plan: "24rise01", datacenter: "bhs", os: "debian12_64" } } },
  { name: "existing", host: { address: "198.51.100.7" } },
  { name: "wiped", ovh: { serviceName: "ns502.ip-51-79-11.net", reinstall: { os: "debian12_64" }, cancelServiceOnDestroy: true } },
], { tailscale: { enabled: true, tags: ["tag:zombie-worker"] }, ssh: { ...(stackConfig([]).ssh as object), hostKeys: { existing: "ssh-ed25519 AAAAhostkey" } } });
const dump = runProgramWith(raw);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loose on purpose: tests reach into raw config/inputs by path
const inputs = (name: string) => unwrapSecrets(named(dump, name).inputs) as Record<string, any>;

test("registers every worker without error", () => {
  expect(dump.error).toBeUndefined();
  expect(byType(dump, "zombie:fleet:Worker").map((r) => r.name).sort()).toEqual(["adopted", "existing", "ordered", "wiped"]);
});

describe("OVH servers", () => {
  test("exist for adopted and ordered workers only, never for an existing host", () => {
    expect(byType(dump, SERVER).map((r) => r.name).sort()).toEqual(["adopted-server", "ordered-server", "wiped-server"]);
  });

  test("an adopted server is never reinstalled and never cancelled unless asked", () => {
    const server = named(dump, "adopted-server");
    const i = inputs("adopted-server");
    expect(i.serviceName).toBe("ns501.ip-51-79-10.net");
    expect(i.os).toBeUndefined();
    expect(i.customizations).toBeUndefined();
    expect(i.preventInstallOnCreate).toBe(true);
    expect(i.preventInstallOnImport).toBe(true);
    expect(i.keepServiceAfterDestroy).toBe(true);
    expect(server.retainOnDelete).toBe(true);
    expect(server.ignoreChanges).toEqual(expect.arrayContaining(["os", "customizations", "storages"]));
  });

  test("an ordered server gets the plan, datacenter, OS and the fleet's SSH key, with the same delete protection", () => {
    const i = inputs("ordered-server");
    expect(i.plans).toEqual([expect.objectContaining({
      planCode: "24rise01",
      configurations: expect.arrayContaining([{ label: "dedicated_datacenter", value: "bhs" }]),
    })]);
    expect(i.os).toBe("debian12_64");
    expect(i.customizations).toEqual({ hostname: "ordered", sshKey: (raw.ssh as { publicKey: string }).publicKey });
    expect(i.keepServiceAfterDestroy).toBe(true);
    expect(named(dump, "ordered-server").retainOnDelete).toBe(true);
    expect(named(dump, "ordered-server").ignoreChanges).toEqual(expect.arrayContaining(["os", "customizations", "plans"]));
  });

  test("reinstalls and cancels only a worker that explicitly asks for it", () => {
    const i = inputs("wiped-server");
    // The reinstall is a task of its own, in the host's wave (reinstall.test.ts); the server never wipes.
    expect(i.os).toBeUndefined();
    expect(i.preventInstallOnCreate).toBe(true);
    expect(inputs("wiped-reinstall").os).toBe("debian12_64");
    expect(i.keepServiceAfterDestroy).toBe(false);
    expect(named(dump, "wiped-server").retainOnDelete).toBe(false);
  });
});

describe("Tailscale", () => {
  test("each worker gets a single-use, pre-authorized, tagged, non-ephemeral key", () => {
    const keys = byType(dump, "tailscale:index/tailnetKey:TailnetKey");
    expect(keys).toHaveLength(4);
    for (const key of keys) {
      expect(unwrapSecrets(key.inputs)).toMatchObject({ reusable: false, ephemeral: false, preauthorized: true, tags: ["tag:zombie-worker"], expiry: 3600 });
    }
  });

  test("the join runs over the public address with the key on stdin, as a secret", () => {
    const join = named(dump, "adopted-tailnet-join");
    expect(isSecretWrapper(join.inputs.stdin)).toBe(true);
    expect((unwrapSecrets(join.inputs.connection) as { host: string }).host).toMatch(/^203\.0\.113\./);
    expect(String(join.inputs.create)).not.toContain("tskey-");
  });

  test("device key expiry is disabled and the fleet's tags are enforced", () => {
    expect(byType(dump, "tailscale:index/deviceKey:DeviceKey").map((r) => unwrapSecrets(r.inputs))).toEqual(
      expect.arrayContaining([{ deviceId: fakeDevice("ordered").nodeId, keyExpiryDisabled: true }]),
    );
    expect(byType(dump, "tailscale:index/deviceTags:DeviceTags")).toHaveLength(4);
  });

  test("every command after the join reaches its host over the tailnet address", () => {
    // The join and the script bundle it runs from go over the public address (below), and so does what runs
    // on a box before its reinstall (reinstall.test.ts).
    for (const cmd of byType(dump, REMOTE).filter((r) => !/-(tailnet-join|scripts|before-reinstall)$/.test(r.name))) {
      const worker = cmd.name.replace(/-(layout|env|units|decommission|drain|stop|deploy|restart-executor|start-worker|verify|canary-gate)$/, "");
      expect((unwrapSecrets(cmd.inputs.connection) as { host: string }).host, cmd.name).toBe(fakeDevice(worker).addresses[0]);
    }
  });

  test("the script bundle is installed over the public address before the join, which runs an installed script", () => {
    const scripts = named(dump, "existing-scripts");
    expect((unwrapSecrets(scripts.inputs.connection) as { host: string }).host).toBe("198.51.100.7");
    const join = named(dump, "existing-tailnet-join");
    expect(join.dependencies).toContain(scripts.urn);
    expect(String(join.inputs.create)).toMatch(/run\.sh' tailscale-join$/);
  });

  test("stale offline devices of the hostname are forgotten before a join", () => {
    const forget = named(dump, "ordered-tailnet-forget-stale");
    expect(forget.type).toBe("command:local:Command");
    expect(named(dump, "ordered-tailnet-join").dependencies).toContain(forget.urn);
  });
});

test("pins the SSH host key where the stack lists one", () => {
  const conn = unwrapSecrets(named(dump, "existing-drain").inputs.connection) as Record<string, unknown>;
  expect(conn.hostKey).toBe("ssh-ed25519 AAAAhostkey");
  expect((unwrapSecrets(named(dump, "adopted-drain").inputs.connection) as Record<string, unknown>).hostKey).toBeUndefined();
});

test("every worker has a decommission command whose delete drains it, depending on its server and tailnet", () => {
  for (const worker of ["adopted", "ordered", "existing", "wiped"]) {
    const cmd = named(dump, `${worker}-decommission`);
    expect(String(cmd.inputs.delete)).toMatch(/run\.sh' decommission$/);
    expect(String(cmd.inputs.delete)).toContain("ZF_DRAIN_SIGNAL='SIGUSR1'");
    expect(cmd.dependencies).toContain(named(dump, `${worker}-tailnet-join`).urn);
    if (worker !== "existing") expect(cmd.dependencies).toContain(named(dump, `${worker}-server`).urn);
  }
});

test("every command text fits on a screen (80 × 25 characters): no script travels in a command", () => {
  const commands = byType(dump, REMOTE);
  expect(commands.length).toBeGreaterThan(20);
  for (const cmd of commands) {
    for (const field of ["create", "delete"] as const) {
      const text = cmd.inputs[field];
      if (text !== undefined) expect(String(text).length, `${cmd.name} ${field}`).toBeLessThanOrEqual(80 * 25);
    }
  }
});
