// scripts/run-tests.mjs (`npm test`): the summary line, and the JSON report kept only when asked for.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";

const REPO = path.resolve(__dirname, "../..");
// A small, fast test file of this repository stands in for the suite.
const runTests = (env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["scripts/run-tests.mjs", "test/unit/duration.test.ts"], {
    cwd: REPO, encoding: "utf8", env: { ...process.env, ...env, TEST_REPORT: env.TEST_REPORT ?? "" },
  });

describe("npm test (scripts/run-tests.mjs)", () => {
  test("keeps the JSON report where TEST_REPORT says and prints where it is", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-run-tests-"));
    try {
      const report = path.join(dir, "report.json");
      const r = runTests({ TEST_REPORT: report });
      const lines = r.stdout.trim().split("\n");
      expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
      expect(r.stdout).toContain(`JSON report written to ${report}`);
      expect(JSON.parse(fs.readFileSync(report, "utf8")).numPassedTests).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("says nothing of a report it does not keep", () => {
    const r = runTests();
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.stdout).not.toMatch(/JSON report|vitest\.json/);
  });
});
