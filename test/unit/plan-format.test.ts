import { describe, expect, test } from "vitest";
import { OPAQUE_SECRET } from "../../config/schema";
import { formatDuration } from "../../config/duration";
import { planRollout } from "../../plan/planner";
import { FORMATS, renderPlan } from "../../plan/render/format";
import { renderMarkdown } from "../../plan/render/markdown";
import { MERMAID_HOSTS_PER_WAVE, MERMAID_WAVES, label, renderMermaid } from "../../plan/render/mermaid";
import { buildReport } from "../../plan/report";
import { renderText } from "../../plan/render/text";
import { Raw, SECRET_MARKER, fleet } from "./fleet-fixture";

function reportOf(n: number, rollout: Raw = {}, patch: (raw: Raw) => void = () => {}, environments: string[] = []) {
  const config = fleet(n, rollout, patch);
  return { config, report: buildReport("lab", "Pulumi.lab.yaml", { config, environments }) };
}

// Six workers, one held with a reason full of characters that break diagrams and tables.
// maxUnavailable 3: the held worker is already out, so waves take at most 2.
const { config, report } = reportOf(6, { waves: [1, 2], maxUnavailable: 3 }, (raw) => {
  raw.workers[4].hold = 'disk "sdb" <failing> | see #12; end';
  raw.workers[1].ovh = { serviceName: "ns42.example.net" };
  delete raw.workers[1].host;
});

describe("the report", () => {
  test("carries the planner's waves, gates and estimate unchanged", () => {
    const plan = planRollout(config);
    expect(report.waves).toEqual(plan.waves.map((w) => w.hosts));
    expect(report.gates).toEqual(plan.waves.map((w) => w.gate));
    expect(report.estimate.worstCaseSeconds).toBe(plan.estimate.worstCaseSeconds);
    expect(report.estimate.perWave.reduce((a, b) => a + b, report.estimate.setupSeconds)).toBe(plan.estimate.worstCaseSeconds);
    expect(report.workers.w1).toMatchObject({ wave: 1, source: "adopt", from: "OVH server ns42.example.net" });
  });

  test("names secret paths by where they are set, never their values", () => {
    const { report: r } = reportOf(2, {}, (raw) => {
      raw.ssh.privateKey = OPAQUE_SECRET;
      raw.secrets = { DATABASE_URL_WORKER: OPAQUE_SECRET, REDIS_URL_WORKER: `rediss://${SECRET_MARKER}` };
    }, ["team/prod"]);
    expect(r.secrets).toEqual({
      environments: ["team/prod"],
      encrypted: ["ssh.privateKey", "secrets.DATABASE_URL_WORKER"],
      plaintext: ["secrets.REDIS_URL_WORKER"],
    });
    expect(r.warnings.join("\n")).toContain("secrets.REDIS_URL_WORKER is plain text in the stack file");
    for (const format of FORMATS) expect(renderPlan(r, format)).not.toContain(SECRET_MARKER);
  });
});

describe("text", () => {
  const text = renderText(report);
  const lines = text.split("\n");

  test("lists each wave with its hosts, their source, worst case and gate", () => {
    report.waves.forEach((hosts, i) => {
      const header = lines.findIndex((l) => l.startsWith(`  Wave ${i}`));
      expect(lines[header]).toContain(`worst case ${formatDuration(report.estimate.perWave[i])}`);
      const body = lines.slice(header + 1, header + 1 + hosts.length);
      expect(body.map((l) => l.trim().split(/\s+/)[0])).toEqual(hosts);
      hosts.forEach((h, k) => expect(body[k]).toContain(report.workers[h].source));
      expect(lines[header + 1 + hosts.length]).toMatch(/^ {4}gate: /);
    });
    expect(lines.find((l) => l.startsWith("  Wave 0"))).toContain("(canary)");
    expect(text).toContain("gate: canary gate on w0 (3 good runs within 15m) before wave 1");
  });

  test("shows each step with its budget, the total worst case, held workers and warnings", () => {
    for (const [step, seconds] of Object.entries(report.stepBudgets)) {
      expect(lines.some((l) => new RegExp(`^ {2}\\d\\. ${step} +${formatDuration(seconds)} `).test(l))).toBe(true);
    }
    expect(text).toContain(`Worst case in total: ${formatDuration(report.estimate.worstCaseSeconds)}`);
    expect(text).toMatch(/Held.*\n {2}w4 +disk "sdb" <failing>/);
    for (const warning of report.warnings) expect(text).toContain(`! ${warning}`);
  });
});

describe("mermaid", () => {
  const diagram = renderMermaid(report);

  test("chains canary → canary gate → wave 1 → … → done, one subgraph per wave", () => {
    const edges = diagram.split("\n").filter((l) => l.includes("-->")).map((l) => l.trim());
    expect(edges).toEqual([
      "wave0 --> gate0", "gate0 --> wave1", "wave1 --> gate1", "gate1 --> wave2", "wave2 --> gate2",
      "gate2 --> wave3", "wave3 --> gate3", "gate3 --> done",
    ]);
    expect(diagram.match(/^ {2}subgraph wave\d+\[/gm)).toHaveLength(report.waves.length);
    expect(diagram).toContain('gate0{{"canary gate: 3 good runs within 15m"}}');
  });

  test("uses generated ids only, and every host appears as a label", () => {
    const ids = [...diagram.matchAll(/^\s*(?:subgraph )?([^\s[({]+)[[({]/gm)].map((m) => m[1]);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9]*$/);
    for (const name of Object.keys(report.workers)) expect(diagram).toContain(`["${name}<br/>`);
    expect(diagram).toContain(`held0["w4<br/>${label(report.held[0].reason)}"]`);
  });

  test("escapes quotes, angle brackets and # in labels", () => {
    expect(label('a "b" <c> #1;')).toBe("a #quot;b#quot; #lt;c#gt; #35;1;");
    expect(diagram).not.toContain("<failing>");
  });

  test("summarises big fleets so GitHub still renders them", () => {
    const big = reportOf(1000, { waves: [1], maxUnavailable: 1 }).report;
    const serial = renderMermaid(big);
    expect(serial.match(/subgraph wave\d+/g)).toHaveLength(MERMAID_WAVES - 1);
    expect(serial).toContain(`skipped["… ${1000 - (MERMAID_WAVES - 1)} more waves, ${1000 - (MERMAID_WAVES - 1)} hosts …"]`);
    expect(serial).toContain("subgraph wave999[");
    const wide = renderMermaid(reportOf(1000).report);
    expect(wide).toContain(`w3more["… ${250 - (MERMAID_HOSTS_PER_WAVE - 1)} more hosts"]`);
    expect(wide.length).toBeLessThan(50_000);
  });
});

describe("markdown", () => {
  const markdown = renderMarkdown(report);

  test("has a heading, one table row per wave, the mermaid block and the warnings", () => {
    expect(markdown.split("\n")[0]).toBe("## Rollout plan: stack `lab`, release `v1.2.3`");
    const rows = markdown.split("\n").filter((l) => /^\| \d/.test(l));
    expect(rows).toHaveLength(report.waves.length);
    rows.forEach((row, i) => report.waves[i].forEach((h) => expect(row).toContain(`\`${h}\``)));
    expect(markdown).toContain(`\`\`\`mermaid\n${renderMermaid(report)}\`\`\``);
    expect(markdown).toContain("### Warnings");
    expect(markdown).toContain("- `w4`: disk \"sdb\" <failing> | see #12; end");
  });

  test("escapes pipes inside table cells", () => {
    const { report: r } = reportOf(2, {}, (raw) => (raw.drain = { completeLog: "drained | 0 runs" }));
    expect(renderMarkdown(r)).toContain('then wait for "drained \\| 0 runs"');
  });
});

test("json has the documented shape", () => {
  const json = JSON.parse(renderPlan(report, "json"));
  expect(Object.keys(json)).toEqual(expect.arrayContaining([
    "stack", "release", "canary", "waves", "workers", "held", "estimate", "warnings",
  ]));
  expect(json.waves).toEqual(report.waves);
  expect(json.workers.w0).toEqual({ wave: 0, canary: true, source: "existing", from: "existing host 10.0.0.0", steps: report.workers.w0.steps });
  expect(json.estimate).toEqual({
    worstCaseSeconds: report.estimate.worstCaseSeconds, setupSeconds: report.estimate.setupSeconds, perWave: report.estimate.perWave,
  });
});

test("a fleet with every worker held renders in every format and says nothing will roll out", () => {
  const { report: r } = reportOf(2, {}, (raw) => raw.workers.forEach((w: Raw) => (w.hold = "frozen")));
  expect(r.waves).toEqual([]);
  expect(renderText(r)).toContain("canary   none (no active worker)");
  expect(renderText(r)).toContain("  none: no active worker, nothing to roll out");
  expect(renderMermaid(r)).toContain('done(["no active worker: nothing to roll out"])');
  expect(renderMermaid(r)).not.toContain("-->");
  expect(JSON.parse(renderPlan(r, "json")).held).toEqual([{ name: "w0", reason: "frozen" }, { name: "w1", reason: "frozen" }]);
});
