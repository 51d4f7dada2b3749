// What the lab reads from the real engine's event stream: which steps ran a command on a host, in what order,
// whether they failed, and the status lines the provider logged for them.
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { describe, expect, test } from "vitest";
import { EngineProgress } from "../../lab/up-progress";

const urn = (name: string, type = "command:remote:Command") => `urn:pulumi:lab::zombie-fleet::zombie:fleet:Fleet$zombie:fleet:Worker$${type}::${name}`;
let sequence = 0;
const event = (e: Partial<EngineEvent>): EngineEvent => ({ sequence: sequence++, timestamp: 0, ...e }) as EngineEvent;
const pre = (name: string, op: string, old?: Record<string, unknown>, type?: string) =>
  event({ resourcePreEvent: { metadata: { op, urn: urn(name, type), type: type ?? "command:remote:Command", provider: "", old: old && { inputs: old } } } as never });
const outputs = (name: string) => event({ resOutputsEvent: { metadata: { op: "create", urn: urn(name), type: "command:remote:Command", provider: "" } } as never });
const failed = (name: string) => event({ resOpFailedEvent: { metadata: { op: "create", urn: urn(name), type: "command:remote:Command", provider: "" }, status: 1, steps: 1 } as never });
const diag = (name: string, message: string, severity: "info" | "error" = "info") =>
  event({ diagnosticEvent: { urn: urn(name), message, color: "never", severity } });

function run(events: EngineEvent[]) {
  const lines: string[] = [];
  const progress = new EngineProgress(Date.now(), (l) => lines.push(l));
  events.forEach(progress.onEvent);
  return { progress, lines };
}

describe("EngineProgress", () => {
  test("records each command that ran, with its status lines, in the order the engine finished them", () => {
    const { progress, lines } = run([
      pre("w1-drain", "create-replacement"),
      diag("w1-drain", "step=drain host=w1 status=ok drain=complete elapsed=3\n"),
      outputs("w1-drain"),
      pre("w1-stop", "update"),
      outputs("w1-stop"),
    ]);
    expect(progress.executed.map((e) => [e.name, e.op, e.ok])).toEqual([["w1-drain", "create-replacement", true], ["w1-stop", "update", true]]);
    expect(lines.find((l) => l.includes("done") && l.includes("w1-drain"))).toMatch(/step=drain host=w1 status=ok drain=complete/);
  });

  test("prints a waiting step's progress lines and each wave's start line as the provider logs them", () => {
    const { lines } = run([
      event({ resOutputsEvent: { metadata: {
        op: "create", urn: urn("fleet-wave-1-start", "command:local:Command"), type: "command:local:Command", provider: "",
        new: { outputs: { stdout: "wave 1/2 starts (v2), 1 host: w2" } },
      } } as never }),
      event({ resOutputsEvent: { metadata: {
        op: "same", urn: urn("fleet-wave-0-start", "command:local:Command"), type: "command:local:Command", provider: "",
        new: { outputs: { stdout: "wave 0/2 starts (canary, then its gate), 1 host: w1" } },
      } } as never }),
      pre("w2-drain", "create-replacement"),
      diag("w2-drain", "drain host=w2 waiting for the drain to complete (2 runs in flight), 15s/360s\n"),
      diag("w2-drain", "some other output\n"),
      outputs("w2-drain"),
    ]);
    expect(lines.filter((l) => /wave 1\/2 starts|waiting for/.test(l))).toEqual([
      expect.stringMatching(/^ +[\d.]+s {2}wave 1\/2 starts \(v2\), 1 host: w2$/),
      expect.stringMatching(/^ +[\d.]+s {2}waiting +drain host=w2 waiting for the drain to complete \(2 runs in flight\), 15s\/360s$/),
    ]);
    expect(lines.join("\n")).not.toContain("some other output");
  });

  test("prints what the program logs on a component, never a command's own lines twice", () => {
    const component = "urn:pulumi:lab::zombie-fleet::zombie:fleet:Fleet::fleet";
    const { lines } = run([
      event({ diagnosticEvent: { urn: component, message: "rollout.promote is manual: promote with …\n", color: "never", severity: "info" } }),
      event({ diagnosticEvent: { urn: urn("w1-verify"), message: "a finished command's late line\n", color: "never", severity: "info", ephemeral: true } }),
    ]);
    expect(lines).toEqual([expect.stringMatching(/^ +[\d.]+s {2}note +rollout\.promote is manual: promote with …$/)]);
  });

  test("a failed step is recorded as failed and its error is the short first error", () => {
    const { progress, lines } = run([
      pre("w1-verify", "create"),
      diag("w1-verify", "step=verify host=w1 status=fail reason=\"doctor\"\n"),
      diag("w1-verify", "Process exited with status 1: running \"long command\":\nmore\nand more", "error"),
      failed("w1-verify"),
    ]);
    expect(progress.executed).toMatchObject([{ name: "w1-verify", ok: false }]);
    expect(lines.at(-1)).toMatch(/FAILED\s+w1-verify .*status=fail/);
    expect(progress.firstError()).toBe("w1-verify: Process exited with status 1: running \"long command\": more");
  });

  test("steps that run nothing on a host are not counted: same steps, other resource types, deletes without a delete command", () => {
    const { progress } = run([
      pre("w1-drain", "same"), outputs("w1-drain"),
      pre("fleet", "create", undefined, "zombie:fleet:Fleet"),
      pre("w1-deploy", "delete-replaced", { create: "x" }), outputs("w1-deploy"),
      pre("w5-decommission", "delete", { create: "x", delete: "drain it" }), outputs("w5-decommission"),
    ]);
    expect(progress.executed.map((e) => e.name)).toEqual(["w5-decommission"]);
  });

  test("counts come from the engine's summary", () => {
    const { progress } = run([event({ summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: { same: 40, create: 2, replace: 7 }, policyPacks: {} } as never })]);
    expect(progress.counts).toEqual({ create: 2, update: 0, replace: 7, same: 40, delete: 0 });
  });
});
