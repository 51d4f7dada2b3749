// The mermaid view of a PlanReport: a flowchart GitHub renders, canary wave → canary gate → wave 1 → … PURE.
// Node ids are generated (wave3, w3h0, gate3), never worker names, so '-' or a reserved word cannot break it.
import { formatDuration } from "../../config/duration";
import type { PlanReport } from "../report";

// GitHub's mermaid refuses big diagrams (maxTextSize 50,000 characters, maxEdges 500): past these counts the
// diagram summarises ("… 93 more hosts") and the markdown table and json keep the full list.
export const MERMAID_HOSTS_PER_WAVE = 8;
export const MERMAID_WAVES = 20;

/** A flowchart: canary wave → canary gate → wave 1 → verify gate → … → done, held hosts apart. */
export function renderMermaid(report: PlanReport): string {
  const lines = ["flowchart TD"];
  let previousNode: string | undefined;
  let previousIndex = -1;
  for (const index of shownWaves(report.waves.length)) {
    if (index > previousIndex + 1) {
      const skipped = report.waves.slice(previousIndex + 1, index);
      const hosts = skipped.reduce((sum, wave) => sum + wave.length, 0);
      lines.push(`  skipped["… ${skipped.length} more waves, ${hosts} hosts …"]`, `  ${previousNode} --> skipped`);
      previousNode = "skipped";
    }
    lines.push(...waveSubgraph(report, index));
    if (previousNode !== undefined) lines.push(`  ${previousNode} --> wave${index}`);
    lines.push(`  gate${index}{{"${label(gateLabel(report, index))}"}}`, `  wave${index} --> gate${index}`);
    previousNode = `gate${index}`;
    previousIndex = index;
  }
  const outcome = report.waves.length ? `release ${report.release} rolled out` : "no active worker: nothing to roll out";
  lines.push(`  done(["${label(outcome)}"])`);
  if (previousNode !== undefined) lines.push(`  ${previousNode} --> done`);
  lines.push(...heldSubgraph(report));
  return `${lines.join("\n")}\n`;
}

/** Wave indexes the diagram draws: all, or the first ones and the last when there are too many. */
function shownWaves(count: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  return count <= MERMAID_WAVES ? all : [...all.slice(0, MERMAID_WAVES - 2), count - 1];
}

function waveSubgraph(report: PlanReport, index: number): string[] {
  const hosts = report.waves[index];
  const title = `Wave ${index}${report.gates[index] === "canary-gate" ? " · canary" : ""} · ` +
    `worst case ${formatDuration(report.estimate.perWave[index])}` +
    (report.awaitingPromotion[index] ? " · waits for promotion" : "");
  const nodes = capped(hosts).map((name, i) =>
    name === undefined
      ? `    w${index}more["… ${hosts.length - (MERMAID_HOSTS_PER_WAVE - 1)} more hosts"]`
      : `    w${index}h${i}["${label(name)}<br/>${report.workers[name].source}"]`);
  return [`  subgraph wave${index}["${label(title)}"]`, "    direction LR", ...nodes, "  end"];
}

/** The names to draw; `undefined` stands for the "… more" node. */
function capped(names: string[]): (string | undefined)[] {
  return names.length <= MERMAID_HOSTS_PER_WAVE ? names : [...names.slice(0, MERMAID_HOSTS_PER_WAVE - 1), undefined];
}

function gateLabel(report: PlanReport, index: number): string {
  if (report.gates[index] === "canary-gate") {
    return `canary gate: ${report.policy.canaryRuns} good runs within ${formatDuration(report.stepBudgets["canary-gate"])}`;
  }
  return `verify wave ${index}`;
}

function heldSubgraph(report: PlanReport): string[] {
  if (!report.held.length) return [];
  const nodes = capped(report.held.map((h) => h.name)).map((name, i) =>
    name === undefined
      ? `    heldmore["… ${report.held.length - (MERMAID_HOSTS_PER_WAVE - 1)} more held"]`
      : `    held${i}["${label(name)}<br/>${label(report.held[i].reason)}"]`);
  return ['  subgraph held["Held: keep their current release"]', ...nodes, "  end"];
}

/** Text safe inside a quoted mermaid label: `#` (mermaid reads `#1;` as an entity), quotes and angle brackets
 *  become entity codes; line breaks become spaces. */
export function label(text: string): string {
  return text.replace(/#/g, "#35;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;").replace(/\s+/g, " ");
}
