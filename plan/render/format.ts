// Renders a PlanReport in the format asked for: text (a terminal), markdown (a pull-request comment), mermaid
// (a flowchart GitHub draws) or json (scripts). PURE: the CLI only parses arguments and prints what this returns.
import { renderMarkdown } from "./markdown";
import { renderMermaid } from "./mermaid";
import type { PlanReport } from "../report";
import { renderText } from "./text";

export const FORMATS = ["text", "markdown", "mermaid", "json"] as const;
export type Format = (typeof FORMATS)[number];

export function renderPlan(report: PlanReport, format: Format): string {
  switch (format) {
    case "text":
      return renderText(report);
    case "markdown":
      return renderMarkdown(report);
    case "mermaid":
      return renderMermaid(report);
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    default: {
      const unknown: never = format;
      throw new Error(`unknown format ${String(unknown)}`);
    }
  }
}
