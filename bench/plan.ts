// `npm run bench:plan`: how long validating, planning and rendering take as the fleet grows, and how long an
// operator waits for `npm run plan`. Prints numbers; asserts nothing. Targets: 1,000 workers planned and rendered
// in every format under 100 ms; `npm run plan` under 1.5 s.
// Each fleet size runs in its own child process, so the peak RSS it reports belongs to that size alone.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { validateFleetConfig } from "../config/load";
import { FORMATS, renderPlan } from "../plan/render/format";
import { buildReport } from "../plan/report";

const SIZES = [10, 100, 1_000, 10_000];
const RUNS = 7;
const NPM_RUNS = 5;
const ROOT = path.join(__dirname, "..");

type Phase = "validate" | "plan" | (typeof FORMATS)[number] | "planAndRender";
type SizeResult = { workers: number; waves: number; medianMs: Record<Phase, number>; baselineMb: number; peakMb: number };

/** A fleet of `n` workers, a third of each host source, under the prod rollout policy with a percentage cap. */
function rawFleet(n: number): Record<string, unknown> {
  const workers = Array.from({ length: n }, (_, i) => {
    const name = `zombie-bench-worker-${i}`;
    if (i % 3 === 0) return { name, host: { address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` } };
    if (i % 3 === 1) return { name, ovh: { serviceName: `ns${5_000_000 + i}.ip-51-79.net` } };
    return { name, ovh: { order: { plan: "24rise01", datacenter: "bhs", os: "debian12_64" } }, hold: i % 97 === 2 ? "bench hold" : false };
  });
  return {
    release: {
      version: "v9.9.9",
      worker: { url: "https://example.test/zombied.tar.gz", sha256: "a".repeat(64) },
      executor: { url: "https://example.test/zombied-executor.tar.gz", sha256: "b".repeat(64) },
    },
    rollout: { waves: [1, 2, "10%"], maxUnavailable: "10%", drainDeadline: "6m" },
    ssh: { privateKey: "bench-key", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAbench bench" },
    workers,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Child mode: measures one size, prints its SizeResult as JSON. */
function measure(n: number): SizeResult {
  const baselineMb = process.memoryUsage().rss / 2 ** 20;
  const samples = Object.fromEntries(
    ["validate", "plan", ...FORMATS, "planAndRender"].map((p) => [p, [] as number[]]),
  ) as Record<Phase, number[]>;
  let waves = 0;
  for (let run = 0; run < RUNS; run++) {
    const raw = rawFleet(n);
    let start = performance.now();
    const config = validateFleetConfig(raw, { source: "bench", secretsRequired: true });
    samples.validate.push(performance.now() - start);
    start = performance.now();
    const report = buildReport("bench", "bench", { config, environments: [] });
    let total = performance.now() - start;
    samples.plan.push(total);
    for (const format of FORMATS) {
      start = performance.now();
      renderPlan(report, format);
      const took = performance.now() - start;
      samples[format].push(took);
      total += took;
    }
    samples.planAndRender.push(total);
    waves = report.waves.length;
  }
  const medianMs = Object.fromEntries(Object.entries(samples).map(([p, v]) => [p, median(v)])) as Record<Phase, number>;
  return { workers: n, waves, medianMs, baselineMb, peakMb: process.resourceUsage().maxRSS / 1024 };
}

function runSize(n: number): SizeResult {
  const child = spawnSync(process.execPath, ["--import", "tsx", __filename, "--size", String(n)], { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`bench for ${n} workers failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as SizeResult;
}

function timeCommand(command: string, args: string[]): number[] {
  return Array.from({ length: NPM_RUNS }, () => {
    const start = performance.now();
    const child = spawnSync(command, args, { cwd: ROOT, stdio: "ignore", env: { ...process.env, INIT_CWD: ROOT } });
    if (child.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${child.status}`);
    return performance.now() - start;
  });
}

function printSizes(results: SizeResult[]): void {
  const ms = (v: number) => v.toFixed(1).padStart(9);
  console.log(`plan + render, median of ${RUNS} runs per size (ms); peak RSS of the process measuring that size (MB)`);
  console.log("  workers  waves  validate     plan     text markdown  mermaid     json  plan+render  peak RSS");
  for (const r of results) {
    const m = r.medianMs;
    console.log(
      `  ${String(r.workers).padStart(7)} ${String(r.waves).padStart(6)}${ms(m.validate)}${ms(m.plan)}${ms(m.text)}` +
        `${ms(m.markdown)}${ms(m.mermaid)}${ms(m.json)}${ms(m.planAndRender).padStart(13)}` +
        `${r.peakMb.toFixed(0).padStart(7)} MB (${r.baselineMb.toFixed(0)} MB after imports)`,
    );
  }
}

function printCommand(title: string, samples: number[]): void {
  const fmt = (v: number) => `${(v / 1000).toFixed(2)} s`;
  console.log(`  ${title.padEnd(40)} median ${fmt(median(samples))}, min ${fmt(Math.min(...samples))}, max ${fmt(Math.max(...samples))}`);
}

function main(): void {
  const sizeFlag = process.argv.indexOf("--size");
  if (sizeFlag !== -1) {
    process.stdout.write(JSON.stringify(measure(Number(process.argv[sizeFlag + 1]))));
    return;
  }
  printSizes(SIZES.map(runSize));
  console.log(`\nwall time of the plan CLI on Pulumi.prod.yaml, ${NPM_RUNS} runs (target: npm run plan under 1.5 s)`);
  printCommand("npm run plan", timeCommand("npm", ["run", "-s", "plan"]));
  printCommand("node --import tsx cli/plan.ts", timeCommand(process.execPath, ["--import", "tsx", "cli/plan.ts"]));
  printCommand("node -e 0 (Node start-up alone)", timeCommand(process.execPath, ["-e", "0"]));
}

main();
