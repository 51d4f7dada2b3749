// What each step script runs (script-command.ts scriptFiles): the closure is complete, and every helper file a
// script sources is one it uses. A change re-runs what runs the changed file, so both matter.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { SCRIPTS_DIR, scriptFiles } from "../../host/script-command";
import { SCRIPT_NAMES } from "../../host/steps";

const read = (file: string) => fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");
const defined = (file: string) => [...read(file).matchAll(/^(zf_[a-z_]+)\(\)/gm)].map((m) => m[1]);
const called = (file: string) => {
  const body = read(file).split("\n").filter((line) => !/^\s*#/.test(line)).join("\n");
  return new Set([...body.matchAll(/\b(zf_[a-z_]+)\b/g)].map((m) => m[1]).filter((name) => !body.includes(`${name}()`)));
};

describe.each(SCRIPT_NAMES)("%s.sh", (name) => {
  const files = scriptFiles(name);

  test("every line that sources a file is understood, and the file exists", () => {
    for (const file of files) {
      for (const line of read(file).split("\n").filter((l) => /^\s*(\.|source)\s/.test(l))) {
        const sourced = /\/([A-Za-z0-9_-]+\.sh)"\s*$/.exec(line)?.[1];
        expect(sourced, `${file}: ${line}`).toBeDefined();
        expect(files, `${file}: ${line}`).toContain(sourced);
        expect(fs.existsSync(path.join(SCRIPTS_DIR, sourced!))).toBe(true);
      }
    }
  });

  test("every helper it calls is defined in what it runs, and every helper file it runs is used", () => {
    const libs = files.filter((f) => f.startsWith("lib"));
    const available = new Set(libs.flatMap(defined));
    const calls = new Set(files.flatMap((f) => [...called(f)]));
    for (const fn of calls) expect(available.has(fn) || defined(`${name}.sh`).includes(fn), fn).toBe(true);
    for (const lib of libs) expect(defined(lib).some((fn) => calls.has(fn)), `${lib} is sourced but unused`).toBe(true);
  });
});

test("no helper is defined but never called", () => {
  const all = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh"));
  const code = all.map((f) => read(f).split("\n").filter((line) => !/^\s*#/.test(line)).join("\n")).join("\n");
  for (const fn of all.filter((f) => f.startsWith("lib")).flatMap(defined)) {
    // Its definition and at least one call, comments left out.
    expect(code.match(new RegExp(`\\b${fn}\\b`, "g"))!.length, `${fn} is dead`).toBeGreaterThan(1);
  }
});
