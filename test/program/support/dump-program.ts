// Runs the program once under mocks with the stack config in a JSON file and prints what it registered, as JSON.
// Usage: node --import tsx test/program/support/dump-program.ts CONFIG.json [--fail NAME[,NAME]]
// CONFIG.json maps short keys (release, workers, …) to values; `secrets` and `ssh` are passed as secret config.
// A resource named in --fail makes its mock throw, like a failed command would; --stdout FILE (JSON: resource name
// → text) gives those commands that stdout, as the host would print it.
import "./closure-deps-stub";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { fakeDevice } from "./fakes";
import { Registration, runProgram, unwrapSecrets } from "./runtime";

/** Resolves Outputs in the program's exports to `{ value, secret }`. */
async function resolveExports(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const o = value as any;
    const settle = (p: Promise<unknown>, pending: unknown) =>
      Promise.race([p.catch(() => "<failed>"), new Promise((r) => setTimeout(() => r(pending), 200))]);
    const resolved = await settle(o.promise(), "<pending>");
    return { value: await resolveExports(resolved), secret: await settle(o.isSecret, "<pending>") };
  }
  if (Array.isArray(value)) return Promise.all(value.map(resolveExports));
  if (value && typeof value === "object") {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveExports(v)]));
    return Object.fromEntries(entries);
  }
  return value;
}

async function main() {
  const [file, ...rest] = process.argv.slice(2);
  const fail = new Set((rest[rest.indexOf("--fail") + 1] ?? "").split(",").filter((s) => rest.includes("--fail") && s));
  const stdout = rest.includes("--stdout") ? JSON.parse(fs.readFileSync(rest[rest.indexOf("--stdout") + 1], "utf8")) as Record<string, string> : {};
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  const config = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`zombie-fleet:${k}`, JSON.stringify(v)]));
  const run = await runProgram({
    config,
    secretKeys: ["zombie-fleet:secrets", "zombie-fleet:ssh"],
    newResource: async (reg: Registration) => {
      if (fail.has(reg.name)) throw Object.assign(new Error(`${reg.name} failed (mock)`), { details: "mock failure" });
      const state = unwrapSecrets(reg.inputs) as Record<string, unknown>;
      if (reg.name in stdout) state.stdout = stdout[reg.name];
      if (reg.type === "ovh:Dedicated/server:Server") state.ip = `203.0.113.${(reg.name.length % 200) + 1}`;
      if (reg.type === "tailscale:index/tailnetKey:TailnetKey") state.key = pulumi.secret(`tskey-auth-${reg.name}`);
      return { id: `${reg.name}-id`, state };
    },
    call: async (token, inputs) => (token === "tailscale:index/getDevice:getDevice" ? fakeDevice(String(inputs.hostname)) : inputs),
  });
  const exports = await resolveExports(run.exports);
  // Exit only once the pipe took all of it: a large dump is written asynchronously.
  process.stdout.write(JSON.stringify({ registrations: run.registrations, logs: run.logs, exports, error: run.error?.message }), () => process.exit(0));
}

main();
