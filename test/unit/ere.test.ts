// verify.errorPattern's subset (config/ere.ts) against the engine that runs it on the hosts: GNU grep -E.
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkErrorPattern } from "../../config/ere";

/** What `grep -E` makes of the pattern: 2 = refused; otherwise whether it matched an empty line. */
function grep(pattern: string): { refused: boolean; matchesEmptyLine: boolean; stderr: string } {
  const run = spawnSync("grep", ["-E", "-q", "--", pattern], { input: "\n", encoding: "utf8", env: { LC_ALL: "C.UTF-8", PATH: process.env.PATH } });
  return { refused: run.status === 2, matchesEmptyLine: run.status === 0, stderr: run.stderr };
}

describe("checkErrorPattern", () => {
  test.each([
    ["level=error|error_code=", false],
    ["^(a|b)*$", true],
    ["x?", true],
    ["[[:alpha:]]{0,3}", true],
    ["(a|)", undefined],
    ["a{2,1}", undefined],
    ["\\d+", undefined],
    ["a**", undefined],
    ["[a\\]]", undefined],
  ])("%s → matches every line: %s (undefined: refused)", (pattern, everyLine) => {
    const result = checkErrorPattern(pattern);
    expect("problem" in result ? undefined : result.matchesEveryLine).toBe(everyLine);
  });

  // Random strings over the characters that matter to an ERE: every one the subset accepts must compile in GNU
  // grep, with no warning, and "matches every line" must be what grep does on an empty line.
  test("agrees with GNU grep -E on 400 random patterns (seeded)", () => {
    const alphabet = fc.constantFrom(..."ab.^$()|*+?{}[]-:\\,0123 ".split(""), "[:digit:]", "{1,2}", "{0}");
    let accepted = 0;
    fc.assert(fc.property(fc.array(alphabet, { minLength: 1, maxLength: 10 }).map((parts) => parts.join("")), (pattern) => {
      const ours = checkErrorPattern(pattern);
      if ("problem" in ours) return;
      accepted++;
      const real = grep(pattern);
      expect(real.refused, pattern).toBe(false);
      expect(real.stderr, pattern).toBe("");
      expect(ours.matchesEveryLine, pattern).toBe(real.matchesEmptyLine);
    }), { seed: 11, numRuns: 400 });
    expect(accepted).toBeGreaterThan(40); // the property looked at real patterns, not only refusals
  });
});
