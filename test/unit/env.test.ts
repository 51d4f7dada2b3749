import { createHash } from "node:crypto";
import { describe, expect, it, test } from "vitest";
import { ConfigError } from "../../config/load";
import { MAX_ASSIGNMENT_BYTES, envHash, envValueProblems, oneLinePem, renderEnvFile } from "../../host/env";
import { fleetConfig } from "../fixtures/minimal-fleet-config";
import { NASTY_VALUES, nastySecrets } from "../fixtures/nasty-env-values";

/** The text after the header comment block (values may span lines, so no splitting on newlines). */
const body = (text: string) => text.replace(/^(#[^\n]*\n)*/, "");
/** Value lines of a text whose values are all single-line. */
const valueLines = (text: string) => body(text).split("\n").filter((line) => line !== "");

describe("renderEnvFile", () => {
  test.each(NASTY_VALUES)("writes $name so systemd reads it back exactly", ({ key, value, line }) => {
    const text = renderEnvFile(fleetConfig({ secrets: { [key]: value } }));
    expect(body(text)).toBe(`${line}\n`);
  });

  it("puts env and secrets together, sorted by key in code-unit order, one line each", () => {
    const config = fleetConfig({ env: { b: "1", LOG_LEVEL: "debug", A_FIRST: 2 }, secrets: { DATABASE_URL_WORKER: "postgres://x" } });
    expect(valueLines(renderEnvFile(config))).toEqual([
      'A_FIRST="2"', 'DATABASE_URL_WORKER="postgres://x"', 'LOG_LEVEL="debug"', 'b="1"',
    ]);
  });

  it("renders the same bytes whatever order the keys came in", () => {
    const forward = fleetConfig({ secrets: nastySecrets() });
    const backward = fleetConfig({ secrets: Object.fromEntries(Object.entries(nastySecrets()).reverse()) });
    expect(renderEnvFile(backward)).toBe(renderEnvFile(forward));
  });

  it("starts with comment lines none of which ends in a backslash (it would swallow the next line)", () => {
    const text = renderEnvFile(fleetConfig());
    const header = text.split("\n").filter((line) => line.startsWith("#"));
    expect(header.length).toBeGreaterThan(0);
    for (const line of header) expect(line.endsWith("\\")).toBe(false);
    expect(valueLines(text)).toEqual([]);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("leaves every character but \" \\ ` $ as it is inside the double quotes", () => {
    expect(valueLines(renderEnvFile(fleetConfig({ secrets: { X: "a'b;c#d=e!*?[]()<>|&~" } })))).toEqual(['X="a\'b;c#d=e!*?[]()<>|&~"']);
  });
});

describe("PEM rule", () => {
  it("turns each real line break of a PEM value into the two characters \\n, the trailing one included", () => {
    expect(oneLinePem("-----BEGIN KEY-----\nAAA\r\n-----END KEY-----\n")).toBe("-----BEGIN KEY-----\\nAAA\\n-----END KEY-----\\n");
  });

  it("leaves multi-line values without PEM armour as they are", () => {
    expect(oneLinePem("line1\nline2")).toBe("line1\nline2");
  });
});

describe("values that cannot be represented", () => {
  const secret = "hunter2-\u0000-do-not-print";

  it("rejects a NUL, naming the key and never the value", () => {
    // The renderer's own guard, behind the schema's (which refuses the same value with its path).
    const config = { env: {}, secrets: { API_TOKEN: secret } };
    let error: unknown;
    try { renderEnvFile(config); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([expect.stringMatching(/^secrets\.API_TOKEN: contains a NUL character.*\(got \[secret\]\)$/)]);
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("rejects a lone surrogate, which would not survive UTF-8 encoding", () => {
    expect(envValueProblems({ env: { LOG_LEVEL: "x\uD800y" }, secrets: {} })).toEqual([
      expect.stringMatching(/^env\.LOG_LEVEL: is not valid Unicode/),
    ]);
  });

  it("rejects a KEY=value longer than the kernel passes to a process, and accepts one at the limit", () => {
    const atLimit = "v".repeat(MAX_ASSIGNMENT_BYTES - "BIG=".length);
    expect(envValueProblems({ env: {}, secrets: { BIG: atLimit } })).toEqual([]);
    expect(envValueProblems({ env: {}, secrets: { BIG: `${atLimit}v` } })).toEqual([
      expect.stringMatching(/^secrets\.BIG: is too long: KEY=value is 131072 bytes/),
    ]);
  });

  it("lists every bad key at once, in path order", () => {
    const config = { env: { LOG_LEVEL: "\u0000" }, secrets: { B_TOKEN: "\u0000", A_TOKEN: "\u0000" } };
    expect(envValueProblems(config).map((p) => p.split(":")[0])).toEqual(["env.LOG_LEVEL", "secrets.A_TOKEN", "secrets.B_TOKEN"]);
  });
});

describe("envHash", () => {
  it("is the sha256 hex of the rendered text", () => {
    const config = fleetConfig({ secrets: nastySecrets() });
    expect(envHash(config)).toBe(createHash("sha256").update(renderEnvFile(config)).digest("hex"));
  });

  it("changes when a single value changes, even by a trailing space", () => {
    expect(envHash(fleetConfig({ secrets: { K: "v " } }))).not.toBe(envHash(fleetConfig({ secrets: { K: "v" } })));
  });
});
