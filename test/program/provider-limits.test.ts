// Every provider input the program derives from config stays within what the provider enforces (provider-limits.ts),
// for the committed prod stack and for the longest names the config schema allows.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { TAILNET_KEY_DESCRIPTION } from "../../host/provider-limits";
import { unwrapSecrets } from "./support/runtime";
import { ProgramDump, REMOTE, byType, runProgramWith, stackConfig } from "./fixtures";

const ROOT = path.join(__dirname, "..", "..");
const TAILNET_KEY = "tailscale:index/tailnetKey:TailnetKey";

/** The `zombie-fleet:` keys of a stack file, with the ESC-provided private key stood in. */
function stackFileConfig(file: string): Record<string, unknown> {
  const doc = parseYaml(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> };
  const raw = Object.fromEntries(Object.entries(doc.config)
    .filter(([key]) => key.startsWith("zombie-fleet:")).map(([key, value]) => [key.slice("zombie-fleet:".length), value]));
  const ssh = raw.ssh as Record<string, unknown>;
  return { ...raw, ssh: { ...ssh, privateKey: (stackConfig([]).ssh as { privateKey: string }).privateKey } };
}

// The schema's longest worker name is a 63-character hostname label; one of each host kind.
const longName = (c: string) => `${c}${"-x".repeat(31)}`;
const longest = stackConfig([
  { name: longName("a"), ovh: { serviceName: "ns5012345.ip-51-79-10.net", reinstall: { os: "debian12_64" } } },
  { name: longName("b"), ovh: { order: { plan: "24rise01", datacenter: "bhs", os: "debian12_64" } } },
  { name: longName("c"), host: { address: "198.51.100.7" } },
  { name: longName("d"), ovh: { serviceName: "ns5012346.ip-51-79-11.net" } },
], { tailscale: { enabled: true } });

const stacks: [string, Record<string, unknown>][] = [
  ["the prod stack", stackFileConfig("Pulumi.prod.yaml")],
  ["63-character worker names", longest],
];

describe.each(stacks)("provider inputs of %s", (_label, raw) => {
  const dump: ProgramDump = runProgramWith(raw);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- provider inputs of every shape, read field by field below
  const inputsOf = (type: string) => byType(dump, type).map((r) => ({ name: r.name, inputs: unwrapSecrets(r.inputs) as Record<string, any> }));

  test("registers every resource", () => {
    expect(dump.error).toBeUndefined();
    expect(longName("a")).toHaveLength(63);
  });

  test("tailnet key descriptions fit the provider's 50 alphanumeric characters, one per worker and host identity", () => {
    const keys = inputsOf(TAILNET_KEY);
    expect(keys.length).toBeGreaterThan(0);
    for (const { name, inputs } of keys) {
      expect(inputs.description.length, `${name}: ${inputs.description}`).toBeLessThanOrEqual(TAILNET_KEY_DESCRIPTION.maxLength);
      expect(inputs.description, name).toMatch(TAILNET_KEY_DESCRIPTION.pattern);
    }
    expect(new Set(keys.map((k) => k.inputs.description)).size).toBe(keys.length);
  });

  test("SSH connections have a bounded dial, a valid port and no pinned ssh-rsa host key", () => {
    for (const { name, inputs } of inputsOf(REMOTE)) {
      const c = inputs.connection;
      expect(Number.isInteger(c.port) && c.port >= 1 && c.port <= 65535, name).toBe(true);
      // -1 is unlimited and 0 is "no maximum" to the provider (pulumi-command v1.2.1 remote/connection.go).
      expect(c.dialErrorLimit, name).toBeGreaterThanOrEqual(1);
      expect(c.perDialTimeout, name).toBeGreaterThanOrEqual(1);
      if (c.hostKey !== undefined) expect(c.hostKey, name).not.toMatch(/^ssh-rsa /);
    }
  });
});
