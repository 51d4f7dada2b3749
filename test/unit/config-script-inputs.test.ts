// What the config accepts, the remote scripts accept: for each input a script checks with its own regex, the same
// strings pass or fail both (issue #11, item 10). The regexes are read from the scripts and run by bash, as on a host.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { expect, test } from "vitest";
import { validateFleetConfig } from "../../config/load";
import { Raw, configProblems, minimalRaw } from "./fleet-fixture";

const SCRIPTS = path.join(__dirname, "..", "..", "host-scripts");

/** The regex a script tests `variable` against, `[[ ! "$VAR" =~ REGEX ]]`, in the check whose failure says `reason`. */
function scriptRegex(script: string, variable: string, reason: string): string {
  const text = fs.readFileSync(path.join(SCRIPTS, script), "utf8");
  const quoted = variable.replace(/[$!{}]/g, "\\$&");
  const match = [...text.matchAll(new RegExp(`\\[\\[ ! "${quoted}" =~ (\\S+) \\]\\](.*\\n.*)`, "g"))].find((m) => m[2].includes(reason));
  if (!match) throw new Error(`${script} no longer checks ${variable} with a regex (${reason})`);
  return match[1];
}

/** Whether bash's `[[ value =~ regex ]]` holds, for each value. */
function bashAccepts(regex: string, values: string[]): boolean[] {
  const run = spawnSync("bash", ["-c", `while IFS= read -r -d '' v; do if [[ "$v" =~ ${regex} ]]; then printf 1; else printf 0; fi; done`], {
    input: values.map((v) => `${v}\0`).join(""), encoding: "utf8", env: { LC_ALL: "C.UTF-8", PATH: process.env.PATH },
  });
  expect(run.status, run.stderr).toBe(0);
  return [...run.stdout].map((c) => c === "1");
}

function configAccepts(field: string, set: (raw: Raw, value: string) => void, value: string): boolean {
  const raw = minimalRaw();
  set(raw, value);
  return !configProblems(() => validateFleetConfig(raw, { source: "test", secretsRequired: true })).some((p) => p.startsWith(`${field}: `));
}

const samples = (alphabet: string[], seed: number) => [
  ...fc.sample(fc.array(fc.constantFrom(...alphabet), { minLength: 0, maxLength: 70 }).map((a) => a.join("")), { seed, numRuns: 300 }),
  ...fc.sample(fc.string({ unit: "grapheme-ascii", maxLength: 12 }), { seed, numRuns: 100 }).filter((s) => !s.includes("\0")),
];

test.each<[string, string, string, string, (raw: Raw, v: string) => void, string[]]>([
  ["canary-gate.sh", "${!var}", "metric name", "verify.counters.failures", (r, v) => (r.verify = { counters: { failures: v } }), [..."aZ_:09 .-é"]],
  ["deploy.sh", "$ZF_VERSION", "release name", "release.version", (r, v) => (r.release.version = v), [..."aZ09._+-/ ", "x".repeat(30)]],
])("%s's check of %s (%s) takes exactly what %s takes", (script, variable, reason, field, set, alphabet) => {
  const regex = scriptRegex(script, variable, reason);
  const values = samples(alphabet, 11);
  const bash = bashAccepts(regex, values);
  const disagreements = values.filter((v, i) => configAccepts(field, set, v) !== bash[i]);
  expect(disagreements).toEqual([]);
  expect(bash.filter(Boolean).length).toBeGreaterThan(20); // both sides were exercised
  expect(bash.filter((b) => !b).length).toBeGreaterThan(20);
});
