#!/usr/bin/env node
// `npm run test:stress`: runs `npm test` (scripts/run-tests.mjs) several times in a row while a CPU hog keeps
// every core busy, to prove no test rests on how fast the machine is. Stops at the first failed run.
//
// Usage: npm run test:stress [-- --runs N] [-- <vitest args>]   e.g. `npm run test:stress -- --runs 1 test/scripts`
// Env:   STRESS_HOGS=<n>   busy-loop processes (default: one per core, os.availableParallelism())
// Exit:  0 when every run passed; otherwise the first failed run's status.
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
let runs = 3;
const runsAt = args.indexOf("--runs");
if (runsAt >= 0) {
  runs = Number(args[runsAt + 1]);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`test:stress: --runs must be a positive integer (got ${args[runsAt + 1] ?? "nothing"})`);
    process.exit(2);
  }
  args.splice(runsAt, 2);
}
const hogCount = Number(process.env.STRESS_HOGS ?? availableParallelism());
const runTests = fileURLToPath(new URL("run-tests.mjs", import.meta.url));

// A busy loop per core, as a separate process so it competes with the tests' processes for the CPU.
const hogs = Array.from({ length: hogCount }, () =>
  spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
const stopHogs = () => { for (const hog of hogs) hog.kill("SIGKILL"); };
process.on("exit", stopHogs);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => { stopHogs(); process.exit(130); });

const summaries = [];
let status = 0;
for (let run = 1; run <= runs && status === 0; run++) {
  console.log(`test:stress: run ${run}/${runs} with ${hogCount} busy-loop processes`);
  const started = Date.now();
  const { code, lastLine } = await runOnce();
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  summaries.push(`run ${run}: ${lastLine} (${seconds} s)`);
  status = code;
}
stopHogs();
for (const line of summaries) console.log(`test:stress: ${line}`);
process.exitCode = status;

/** One `npm test` run with its output passed through; resolves with its exit status and summary line. */
function runOnce() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runTests, ...args], { stdio: ["inherit", "pipe", "inherit"] });
    let tail = "";
    child.stdout.on("data", (d) => {
      process.stdout.write(d);
      tail = (tail + d).slice(-4096);
    });
    child.on("exit", (code, signal) => {
      const lastLine = tail.trim().split("\n").at(-1) ?? "";
      resolve({ code: signal ? 1 : (code ?? 1), lastLine });
    });
  });
}
