// Dependencies point one way (README.md, "Layout"): config ← host ← plan ← components ← index.ts, cli, lab,
// bench. Every import of every TypeScript file of the program is read here; one that reaches a higher layer
// fails, naming the file, the import and both layers. Tests import from anywhere.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import * as fs from "node:fs";
import { expect, test } from "vitest";

const ROOT = path.join(__dirname, "..", "..");

/** Lowest first. A file's layer is its top folder's (index.ts is the top). */
export const LAYERS: readonly (readonly string[])[] = [
  ["config"], ["host"], ["plan"], ["components"], ["index.ts", "cli", "lab", "bench"],
];

function layerOf(file: string): number | undefined {
  const top = file.split("/")[0];
  const index = LAYERS.findIndex((layer) => layer.includes(top));
  return index < 0 ? undefined : index;
}

/** The relative imports (static, dynamic, re-exports) of a source text, as written. */
export function importsOf(text: string): string[] {
  const pattern = /(?:^|[^\w.])(?:import|export)\s*(?:type\s+)?(?:[^"';]*?\sfrom\s*)?\(?\s*["'](\.{1,2}\/[^"']+)["']/gm;
  return [...text.matchAll(pattern)].map((m) => m[1]);
}

/** `file imports target (layer a → layer b)` for each import of `file` (repo-relative) that points up a layer. */
export function upwardImports(file: string, text: string): string[] {
  const from = layerOf(file);
  if (from === undefined) return [];
  return importsOf(text).flatMap((spec) => {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const to = layerOf(target);
    return to !== undefined && to > from ? [`${file} imports ${spec} (${LAYERS[from][0]} → ${LAYERS[to][0]})`] : [];
  });
}

const files = execFileSync("git", ["ls-files", "*.ts"], { cwd: ROOT, encoding: "utf8" }).split("\n")
  .filter((f) => f && layerOf(f) !== undefined && fs.existsSync(path.join(ROOT, f)));

test("no module of a lower layer imports one of a higher layer", () => {
  expect(files.filter((f) => f.startsWith("host/")).length, "control: the program's files are read").toBeGreaterThan(5);
  const upward = files.flatMap((f) => upwardImports(f, fs.readFileSync(path.join(ROOT, f), "utf8")));
  expect(upward).toEqual([]);
});

test("the check finds an upward import of every form, and lets a downward or sideways one pass", () => {
  const planted = [
    'import { Fleet } from "../components/fleet";',
    'import type { HostPlan } from "../plan/planner";',
    'export { planRollout } from "../plan/planner";',
    'const m = await import("../components/worker");',
    "import {\n  A,\n  B,\n} from '../plan/report';",
  ].join("\n");
  expect(upwardImports("host/example.ts", planted)).toEqual([
    "host/example.ts imports ../components/fleet (host → components)",
    "host/example.ts imports ../plan/planner (host → plan)",
    "host/example.ts imports ../plan/planner (host → plan)",
    "host/example.ts imports ../components/worker (host → components)",
    "host/example.ts imports ../plan/report (host → plan)",
  ]);
  expect(upwardImports("plan/example.ts", 'import { x } from "../host/steps";\nimport { y } from "./budget";\nimport "node:fs";')).toEqual([]);
  expect(upwardImports("config/example.ts", 'import { z } from "./schema";')).toEqual([]);
});

test("the pure layers (config, host, plan) import no Pulumi package", () => {
  const pure = files.filter((f) => (layerOf(f) ?? 9) < LAYERS.findIndex((l) => l.includes("components")));
  expect(pure.length).toBeGreaterThan(20);
  const pulumi = pure.filter((f) => /from\s*["']@pulumi\/|import\(\s*["']@pulumi\//.test(fs.readFileSync(path.join(ROOT, f), "utf8")));
  expect(pulumi).toEqual([]);
});
