// Every remote step script and every stand-in must be shellcheck-clean (STYLE.md: per-line disables only).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { REPO, SCRIPTS_DIR, STANDINS_DIR } from "./harness";

const scripts = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh")).map((f) => path.join(SCRIPTS_DIR, f));
// The stand-ins are named after the commands they replace (systemctl, journalctl, …), so all of them, not only *.sh.
const standins = fs.readdirSync(STANDINS_DIR).map((f) => path.join(STANDINS_DIR, f));
const files = [...scripts, ...standins].map((f) => path.relative(REPO, f));

interface Finding { file: string; line: number; column: number; level: string; code: number; message: string }

describe("shellcheck", () => {
  // One shellcheck over every file (json1 names each finding's file), not one process per file: same checks, a
  // fraction of the time. Run from the repo root: the `# shellcheck source=` directives are repo-relative.
  let findings: Finding[] = [];
  beforeAll(() => {
    const r = spawnSync("shellcheck", ["-x", "-s", "bash", "-f", "json1", ...files], { cwd: REPO, encoding: "utf8" });
    expect(r.error, "shellcheck must be installed (apt-get install shellcheck)").toBeUndefined();
    expect(r.stderr).toBe("");
    findings = (JSON.parse(r.stdout) as { comments: Finding[] }).comments;
    // 0: no finding, 1: findings (listed per file below); anything else is shellcheck failing to run.
    expect(r.status, r.stdout).toBe(findings.length ? 1 : 0);
  });

  test.each(files.map((f) => [f]))("%s has no findings", (file) => {
    const mine = findings.filter((f) => f.file === file);
    expect(mine.map((f) => `${f.file}:${f.line}:${f.column}: ${f.level} SC${f.code}: ${f.message}`)).toEqual([]);
  });

  test("every finding is in a file checked here", () => {
    expect(findings.filter((f) => !files.includes(f.file))).toEqual([]);
  });

  test("no script disables a check globally", () => {
    for (const file of [...scripts, ...standins]) {
      const lines = fs.readFileSync(file, "utf8").split("\n");
      // A directive above the file's first command applies to the whole file.
      const firstCommand = lines.findIndex((l) => l.trim() !== "" && !l.trim().startsWith("#"));
      lines.forEach((line, i) => {
        if (!/#\s*shellcheck\s+disable=/.test(line)) return;
        // A per-line disable sits directly above a command and cites a reason after a second `#`.
        expect(line, `${path.relative(REPO, file)}:${i + 1} must cite a reason`).toMatch(/disable=\S+\s+#\s*\S/);
        expect(i, `${path.relative(REPO, file)}:${i + 1} is a file-wide disable`).toBeGreaterThan(firstCommand);
      });
    }
  });
});
