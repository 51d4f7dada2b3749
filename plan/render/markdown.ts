// The markdown view of a PlanReport, for a pull-request comment: summary, waves table, step budgets, the mermaid
// flowchart, held hosts, secrets and warnings. PURE.
import { formatDuration } from "../../config/duration";
import { ROLLOUT_STEPS, StepName } from "../../host/steps";
import { renderMermaid } from "./mermaid";
import type { PlanReport } from "../report";
import { count, gateText, modeText, reasonRows, reasonSummary, secretSourceLines, stepNotes } from "./text";

/** A pull-request comment: summary, waves table, step budgets, the flowchart, held hosts, secrets, warnings. */
export function renderMarkdown(report: PlanReport): string {
  const active = Object.keys(report.workers).length;
  const lines = [
    `## Rollout plan: stack \`${report.stack}\`, release \`${report.release}\``,
    "",
    `**Canary:** ${report.canary ? `\`${report.canary}\`` : "none"} · ` +
      `**Hosts:** ${count(active, "host")} in ${count(report.waves.length, "wave")}, ` +
      `at most ${report.maxUnavailable} out of service at once · ` +
      `**Worst case:** ${formatDuration(report.estimate.worstCaseSeconds)}`,
    "",
    ...modeParagraph(report),
    "| Wave | Hosts | Gate to the next wave | Worst case |",
    "|---:|---|---|---:|",
    ...report.waves.map((hosts, i) => {
      const names = hosts.map((h) => `\`${h}\` (${report.workers[h].source})`).join(", ");
      const wave = (report.gates[i] === "canary-gate" ? `${i} (canary)` : String(i)) +
        (report.awaitingPromotion[i] ? " (waits for promotion)" : "");
      return `| ${wave} | ${names} | ${cell(gateText(report, i))} | ${formatDuration(report.estimate.perWave[i])} |`;
    }),
    "",
    ...stepTable(report),
    "```mermaid",
    renderMermaid(report).trimEnd(),
    "```",
    "",
    ...reasonTable(report),
    ...section("Held", report.held.map((h) => `\`${h.name}\`: ${h.reason}`)),
    ...section("Secrets (values never shown)", secretSourceLines(report)),
    ...section("Warnings", report.warnings.length ? report.warnings : ["none"]),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}

function modeParagraph(report: PlanReport): string[] {
  const text = modeText(report);
  if (!text) return [];
  return [`${report.mode === "rollback" ? "**Rollback** to" : "**Stops after the canary**, promote"} ${cell(text)}`, ""];
}

function stepTable(report: PlanReport): string[] {
  const notes = stepNotes(report);
  const steps: StepName[] = [...ROLLOUT_STEPS, ...(report.canary ? ["canary-gate" as const] : [])];
  return [
    "| Step | Budget | Does |",
    "|---|---:|---|",
    ...steps.map((s) => `| ${s} | ${formatDuration(report.stepBudgets[s])} | ${cell(notes[s])} |`),
    "",
  ];
}

/** Why each worker is in the rollout (--base): one row per worker, removed ones last. */
function reasonTable(report: PlanReport): string[] {
  const { reasons } = report;
  if (reasons.base === null) {
    return ["### Why each worker is in the rollout", "", `_${cell(reasons.notes.join("; "))}_`, ""];
  }
  return [
    `### Why each worker is in the rollout (compared with \`${reasons.base}\`)`,
    "",
    `**${reasonSummary(report)}**`,
    "",
    "| Worker | Wave | Reasons | What changed | What runs |",
    "|---|---|---|---|---|",
    ...reasonRows(report).map((r) => `| \`${r.name}\` | ${r.wave === "-" ? "—" : r.wave} | ${cell(r.reasons)} | ` +
      `${cell(r.changes.join("; ")) || "—"} | ${cell(r.runs)} |`),
    "",
    ...reasons.notes.map((note) => `- Note: ${note}`),
    "",
  ];
}

function section(title: string, items: string[]): string[] {
  return items.length ? [`### ${title}`, "", ...items.map((item) => `- ${item}`), ""] : [];
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s+/g, " ");
}
