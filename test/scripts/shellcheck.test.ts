// Every remote step script and every stand-in must be shellcheck-clean (STYLE.md: per-line disables only).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { REPO, SCRIPTS_DIR, STANDINS_DIR } from "./harness";

const scripts = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh")).map((f) => path.join(SCRIPTS_DIR, f));
// The stand-ins are named after the commands they replace (systemctl, journalctl, …), so all of them, not only *.sh.
const standins = fs.readdirSync(STANDINS_DIR).map((f) => path.join(STANDINS_DIR, f));

describe("shellcheck", () => {
  test.each([...scripts, ...standins].map((f) => [path.relative(REPO, f)]))("%s has no findings", (file) => {
    // Run from the repo root: the `# shellcheck source=` directives are repo-relative.
    const r = spawnSync("shellcheck", ["-x", "-s", "bash", file], { cwd: REPO, encoding: "utf8" });
    expect(r.error, "shellcheck must be installed (apt-get install shellcheck)").toBeUndefined();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
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
