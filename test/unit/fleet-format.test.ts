// `npm run fleet -- status`: the verdict and exit code of a fleet (cli/fleet-report.ts) and how it is shown
// (cli/fleet-format.ts), from host reports as status.sh prints them.
import { describe, expect, test } from "vitest";
import { HostReport, HostResult, parseHostReport, verdict } from "../../cli/fleet-report";
import { age, formatStatusJson, formatStatusText, StatusView } from "../../cli/fleet-format";

const NOW = 1_760_000_000;

function report(over: Partial<HostReport> & { executor?: string; worker?: string } = {}): HostReport {
  const { executor = "active", worker = "active", ...rest } = over;
  const unit = (state: string) => ({ state, sub: state === "active" ? "running" : "dead", since: "Thu 2025-10-09 08:53:20 UTC", restarts: 0 });
  return {
    host: "h", now: NOW, current: "v2", previous: "v1", units: { executor: unit(executor), worker: unit(worker) },
    draining: false, inFlight: null, drainLine: null,
    lastStep: { step: "verify", status: "ok", line: "step=verify host=h status=ok version=v2", at: NOW - 190 },
    ...rest,
  };
}
const ok = (name: string, over: Parameters<typeof report>[0] = {}): HostResult => ({ name, address: `10.0.0.${name.length}`, report: report(over) });
const down = (name: string, error: string): HostResult => ({ name, address: "10.0.0.9", error });

describe("verdict", () => {
  test.each([
    { situation: "uniform and healthy", hosts: [ok("a"), ok("b"), ok("c")], exit: 0, healthy: true, uniform: true, problems: [] },
    {
      situation: "mixed release (an auto-reverted host)", hosts: [ok("a"), ok("b", { current: "v1", previous: "v1" }), ok("c")],
      exit: 1, healthy: true, uniform: false, problems: ["mixed releases: v1 (b), v2 (a, c)"],
    },
    {
      situation: "a host down", hosts: [ok("a"), down("b", "timed out after 5s")],
      exit: 1, healthy: false, uniform: true, problems: ["b: did not answer (timed out after 5s)"],
    },
    {
      situation: "a host draining", hosts: [ok("a"), ok("b", { draining: true, inFlight: 2, worker: "deactivating" })],
      exit: 1, healthy: false, uniform: true, problems: ["b: worker is deactivating/dead", "b: worker is draining (2 runs in flight)"],
    },
    {
      situation: "a unit failed", hosts: [ok("a", { executor: "failed" }), ok("b")],
      exit: 1, healthy: false, uniform: true, problems: ["a: executor is failed/dead"],
    },
    {
      situation: "a host with no release", hosts: [ok("a", { current: null, previous: null })],
      exit: 1, healthy: false, uniform: true, problems: ["a: no release (no /opt/zombie/current)"],
    },
  ])("$situation: exit $exit", ({ hosts, exit, healthy, uniform, problems }) => {
    const v = verdict(hosts);
    expect(v).toMatchObject({ exitCode: exit, healthy, uniform, problems });
  });

  test("groups hosts by the release they run, answered hosts only", () => {
    expect(verdict([ok("a"), ok("b", { current: "v1" }), down("c", "refused"), ok("d", { current: null })]).releases)
      .toEqual({ v2: ["a"], v1: ["b"], none: ["d"] });
  });
});

describe("parseHostReport", () => {
  test("takes the JSON line of the answer", () => {
    expect(parseHostReport(`motd\n${JSON.stringify(report())}\n`)).toEqual(report());
  });
  test.each([
    { what: "empty", out: "", error: /no status report in its answer \(empty\)/ },
    { what: "a status line instead", out: 'step=status host=h status=fail reason="x"', error: /got: step=status host=h/ },
    { what: "broken JSON", out: '{"host":', error: /not JSON/ },
    { what: "a missing field", out: JSON.stringify({ ...report(), units: undefined }), error: /malformed at units/ },
  ])("names what is wrong: $what", ({ out, error }) => {
    const parsed = parseHostReport(out);
    expect("error" in parsed && parsed.error).toMatch(error);
  });
});

describe("formatting", () => {
  const view = (results: HostResult[], gone: string[] = []): StatusView => ({ stack: "prod", configured: "v2", results, verdict: verdict(results), gone });

  test.each([[0, "0s"], [59, "59s"], [190, "3m10s"], [7500, "2h05m"], [-3, "0s"]])("age(%d) = %s", (s, text) => {
    expect(age(s)).toBe(text);
  });

  test("a healthy fleet: a row per host, each last step with its time and age, the verdict with exit 0", () => {
    const text = formatStatusText(view([ok("a"), ok("bb")], ["old"]));
    const lines = text.split("\n");
    expect(lines[0]).toBe("fleet status of stack prod (config release v2): 2 of 2 hosts answered");
    expect(lines[2]).toMatch(/^HOST {2}RELEASE {2}PREVIOUS {2}EXECUTOR +WORKER +DRAIN$/);
    expect(lines[3]).toMatch(/^a {5}v2 {7}v1 {8}active since Thu 2025-10-09 08:53:20 UTC {2}active since .* {2}no$/);
    expect(text).toContain(`  a: verify ok at ${new Date((NOW - 190) * 1000).toISOString().replace(".000Z", "Z")} (3m10s ago): step=verify host=h status=ok version=v2`);
    expect(text).toContain("not asked (gone): old");
    expect(text.trimEnd().split("\n").at(-1)).toBe("verdict: HEALTHY and UNIFORM on v2 (exit 0)");
  });

  test("a host down, one draining, one reverted: each said, and the verdict says which and exit 1", () => {
    const results = [
      { ...ok("a", { current: "v1" }), recorded: "v1" },
      ok("b", { draining: true, inFlight: 3 }),
      down("c", "ssh: connect to host 10.0.0.9 port 22: Connection refused"),
      { ...ok("d"), recorded: "v1" },
    ];
    const text = formatStatusText(view(results));
    expect(text).toContain("3 of 4 hosts answered");
    expect(text).toMatch(/^c +\? +\? +NO ANSWER: ssh: connect to host 10\.0\.0\.9 port 22: Connection refused$/m);
    expect(text).toMatch(/^b .*DRAINING 3 in flight$/m);
    expect(text).toMatch(/^d +v2 \(stack outputs: v1\) /m);
    expect(text).toContain("verdict: NOT HEALTHY and NOT UNIFORM (exit 1)");
    expect(text).toContain("  - mixed releases: v1 (a), v2 (b, d)");
  });

  test("JSON carries every host, answered or not, and the verdict", () => {
    const results = [ok("a"), down("c", "timed out after 5s")];
    const json = JSON.parse(formatStatusJson(view(results)));
    expect(json.hosts.map((h: { name: string; answered: boolean }) => [h.name, h.answered])).toEqual([["a", true], ["c", false]]);
    expect(json.hosts[0].report).toEqual(report());
    expect(json.hosts[1].error).toBe("timed out after 5s");
    expect(json.verdict).toEqual(verdict(results));
  });
});
