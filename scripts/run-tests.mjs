#!/usr/bin/env node
// `npm test`: runs `vitest run` with vitest's normal output, then ends with one plain line, `N passed, N failed`
// (`, N skipped` when some were), counted from vitest's JSON report, because CI and people read that line.
//
// Usage: npm test [-- <vitest args>]     e.g. `npm test -- test/unit`, `npm test -- --config vitest.lab.config.mts`
// Env:   TEST_CONFIG=<file>              same as `--config <file>` (for callers that cannot pass arguments)
//        TEST_REPORT=<file>              keep vitest's JSON report there (per-file timings); vitest says where;
//                                        without it the report goes to a temp dir that is removed, and is not mentioned
// Exit:  0 when at least one test ran and nothing failed; 1 on any failed test, a test file that could not run,
//        an error vitest reports outside tests (it exits non-zero), or when no test ran at all.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const require = createRequire(import.meta.url);
const vitestBin = join(require.resolve("vitest/package.json"), "..", "vitest.mjs");

const tempDir = mkdtempSync(join(tmpdir(), "zombie-tests-"));
const keptReport = process.env.TEST_REPORT ? resolve(process.env.TEST_REPORT) : null;
const reportFile = keptReport ?? join(tempDir, "vitest.json");
const userArgs = process.argv.slice(2);
const configArgs = process.env.TEST_CONFIG && !userArgs.some(isConfigArg) ? ["--config", process.env.TEST_CONFIG] : [];
const args = [
  vitestBin, "run", ...configArgs, ...userArgs,
  // `default` keeps vitest's usual terminal output; `json` is what the summary line is counted from.
  "--reporter=default", "--reporter=json", `--outputFile.json=${reportFile}`,
];

// vitest announces "JSON report written to <file>" on its own: that line is dropped unless the report is kept,
// because the temp file it names is gone when this ends. Piping keeps vitest's colours only through FORCE_COLOR.
const env = keptReport || !process.stdout.isTTY ? process.env : { FORCE_COLOR: "1", ...process.env };
const child = spawn(process.execPath, args, { stdio: ["inherit", keptReport ? "inherit" : "pipe", "inherit"], env });
if (!keptReport) {
  let partial = "";
  child.stdout.on("data", (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop();
    for (const line of lines) if (!line.includes(`report written to ${reportFile}`)) process.stdout.write(`${line}\n`);
  });
  child.stdout.on("end", () => partial && process.stdout.write(partial));
}
// Ctrl-C reaches vitest from the terminal too: wait for it to stop and still print the summary. A SIGTERM sent to
// this process alone (a CI timeout) is passed on.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("error", (err) => finish(`could not start vitest: ${err.message}`, null));
// "close", not "exit": the summary comes after the last of vitest's piped output.
child.on("close", (code, signal) => finish(null, signal ? `vitest was killed by ${signal}` : code));

function isConfigArg(arg) {
  return arg === "--config" || arg === "-c" || arg.startsWith("--config=");
}

let finished = false;
function finish(startError, exit) {
  if (finished) return; // a failed spawn can report both "error" and "exit"
  finished = true;
  const counts = startError ? null : readCounts(reportFile);
  rmSync(tempDir, { recursive: true, force: true });
  const problems = [];
  if (startError) problems.push(startError);
  if (typeof exit === "string") problems.push(exit);
  else if (typeof exit === "number" && exit !== 0) {
    const why = counts && counts.failed === 0 ? " although no test failed: see the errors it printed above" : "";
    problems.push(`vitest exited with status ${exit}${why}`);
  }
  if (!counts && !startError) problems.push("vitest wrote no JSON report (it failed before running tests)");
  if (counts && counts.passed + counts.failed === 0) problems.push("no test ran");
  for (const problem of [...(counts?.notes ?? []), ...problems]) console.log(`test run: ${problem}`);
  const c = counts ?? { passed: 0, failed: 0, skipped: 0 };
  console.log(`${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ""}`);
  process.exitCode = problems.length || c.failed ? 1 : 0;
}

/** Counts from vitest's JSON report; a test file that failed without a failed test (it did not load, or a hook
 *  threw) counts as one failure, so a broken file can never pass as "0 failed". */
function readCounts(file) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
  const notes = [];
  let brokenFiles = 0;
  for (const result of report.testResults ?? []) {
    const failedTests = result.assertionResults.filter((a) => a.status === "failed").length;
    if (result.status === "failed" && failedTests === 0) {
      brokenFiles += 1;
      notes.push(`${result.name} failed outside its tests: ${(result.message || "no message").split("\n")[0]}`);
    }
  }
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + brokenFiles,
    skipped: report.numPendingTests + report.numTodoTests,
    notes,
  };
}
