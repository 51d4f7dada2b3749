// The lab's own bash (lab/*.sh) is held to the same rule as the step scripts: shellcheck-clean.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { REPO_ROOT } from "../../lab/hosts";

const scripts = readdirSync(path.join(REPO_ROOT, "lab")).filter((f) => f.endsWith(".sh")).map((f) => `lab/${f}`);

test.each(scripts)("%s has no shellcheck findings", (file) => {
  // From the repo root: the `# shellcheck source=` directives are repo-relative.
  const r = spawnSync("shellcheck", ["-x", "-s", "bash", file], { cwd: REPO_ROOT, encoding: "utf8" });
  expect(r.error, "shellcheck must be installed").toBeUndefined();
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
});
