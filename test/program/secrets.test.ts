// Secrets never appear in plaintext: not in any command line or environment, not in any non-secret input,
// not in any output. Every secret is a distinct marker value searched for everywhere.
import { expect, test } from "vitest";
import { isSecretWrapper, unwrapSecrets } from "./support/runtime";
import { SECRET_MARKERS, runProgramWith, stackConfig } from "./fixtures";

const markers = Object.values(SECRET_MARKERS);
const raw = stackConfig([
  { name: "adopted", ovh: { serviceName: "ns501.ip-51-79-10.net" } },
  { name: "existing", host: { address: "198.51.100.7" } },
  { name: "third", host: { address: "198.51.100.8" } },
], { tailscale: { enabled: true } });
const dump = runProgramWith(raw);

/** Plain (non-secret) strings in a value, skipping whatever is wrapped as a secret. */
function plainStrings(value: unknown, out: string[] = []): string[] {
  if (isSecretWrapper(value)) return out;
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => plainStrings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => plainStrings(v, out));
  return out;
}
const leaks = (texts: string[]) => texts.filter((t) => markers.some((m) => t.includes(m)));

test("the program registered its commands", () => {
  expect(dump.error).toBeUndefined();
  expect(dump.registrations.filter((r) => r.type.startsWith("command:")).length).toBeGreaterThan(20);
});

test("no secret appears in any command's create, update, delete, environment or triggers, even as a secret", () => {
  for (const cmd of dump.registrations.filter((r) => r.type.startsWith("command:"))) {
    const { create, update, delete: del, environment, triggers } = unwrapSecrets(cmd.inputs) as Record<string, unknown>;
    expect(leaks([JSON.stringify({ create, update, del, environment, triggers }) ?? ""]), cmd.name).toEqual([]);
  }
});

test("secrets reach the hosts only on stdin, marked secret, with command logging off", () => {
  const env = dump.registrations.find((r) => r.name === "existing-env")!;
  expect(isSecretWrapper(env.inputs.stdin)).toBe(true);
  const text = String(unwrapSecrets(env.inputs.stdin));
  expect(text).toContain(SECRET_MARKERS.database);
  expect(text).toContain(SECRET_MARKERS.pem);
  expect(env.inputs.logging).toBe("none");
});

test("no input of any resource carries a secret outside a secret wrapper", () => {
  for (const reg of dump.registrations) {
    expect(leaks(plainStrings(reg.inputs)), reg.name).toEqual([]);
  }
});

test("the SSH private key travels only inside the secret connection", () => {
  const drain = dump.registrations.find((r) => r.name === "existing-drain")!;
  expect(isSecretWrapper(drain.inputs.connection)).toBe(true);
  expect(JSON.stringify(unwrapSecrets(drain.inputs.connection))).toContain(SECRET_MARKERS.sshKey);
});

test("every output is free of secrets, and the fingerprint (a hash of the .env) is secret", () => {
  const outputs: { path: string; value: unknown; secret: boolean }[] = [];
  const walk = (value: unknown, path: string) => {
    if (value && typeof value === "object" && "secret" in value && "value" in value) {
      outputs.push({ path, ...(value as { value: unknown; secret: boolean }) });
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    }
  };
  walk(dump.exports, "exports");
  expect(outputs.length).toBeGreaterThan(0);
  for (const o of outputs) {
    if (!o.secret) expect(leaks([JSON.stringify(o.value) ?? ""]), o.path).toEqual([]);
  }
  const fingerprints = outputs.filter((o) => o.path.endsWith(".fingerprint"));
  expect(fingerprints).toHaveLength(3);
  expect(fingerprints.every((f) => f.secret)).toBe(true);
});
