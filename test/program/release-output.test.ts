// The `workers.<name>.release` output says what the host runs: the release its verify step reported on stdout
// (host/verify-report.ts), never the configured one, so an auto-reverted host is not shown on the new release.
import { expect, test } from "vitest";
import { Resolved, existingWorkers, runProgramWith, stackConfig } from "./fixtures";

const verifyOk = (host: string, version: string) =>
  `step=verify host=${host} status=ok version=${version} healthy_for=30s restarts=0\n--- verify output: 1 lines (last 1 shown), log /opt/zombie/log/verify.log ---\nchecked\n`;

const workers = [...existingWorkers(3), { name: "held1", host: { address: "192.0.2.51" }, hold: "disk swap" }];
const config = stackConfig(workers); // release.version v2

function releases(stdout: Record<string, string>, fail: string[] = []): Record<string, unknown> {
  const dump = runProgramWith(config, fail, undefined, undefined, stdout);
  const out = dump.exports.workers as Record<string, { release: Resolved }>;
  return Object.fromEntries(Object.entries(out).map(([name, w]) => [name, w.release.value]));
}

test("each host's release is what its verify printed, whatever the config says", () => {
  expect(releases({ "w1-verify": verifyOk("w1", "v2"), "w2-verify": verifyOk("w2", "v1"), "w3-verify": verifyOk("w3", "v2-rc.1") }))
    .toEqual({ w1: "v2", w2: "v1", w3: "v2-rc.1", held1: "held" });
});

test("a verify output without an ok line says so rather than pretend the configured release", () => {
  const failedLine = 'step=verify host=w2 status=fail version=v2 reverted_to=v1 revert_healthy=true reason="doctor failed"\n';
  expect(releases({ "w1-verify": verifyOk("w1", "v2"), "w2-verify": failedLine })).toEqual({ w1: "v2", w2: "unreported", w3: "unreported", held1: "held" });
});

test("a host whose verify fails (and is auto-reverted) is not reported on the new release, nor on any", () => {
  const out = releases({ "w1-verify": verifyOk("w1", "v2") }, ["w1-verify"]);
  // Under mocks a failed command's outputs reject; the engine leaves them unknown or pending (verify-report.ts).
  // Either way no release comes of it, and nothing of the waves after it runs.
  expect(out).toEqual({ w1: "<failed>", w2: "<pending>", w3: "<pending>", held1: "held" });
});

test("the release output is not secret (verify prints no secret: test/scripts/no-secret-output.test.ts)", () => {
  const dump = runProgramWith(config, [], undefined, undefined, { "w1-verify": verifyOk("w1", "v2") });
  expect((dump.exports.workers as Record<string, { release: Resolved }>).w1.release.secret).toBe(false);
});
