// The .env round trip against the real parser: a throwaway systemd 252 service manager (run-in-user-manager.sh)
// starts a unit with `EnvironmentFile=` pointing at the rendered file, and the unit's process reports its
// environment. No reimplementation of systemd's grammar is involved.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, test } from "vitest";
import { renderEnvFile } from "../../host/env";
import { fleetConfig } from "../fixtures/minimal-fleet-config";
import { NASTY_VALUES, nastySecrets } from "../fixtures/nasty-env-values";

const HARNESS = path.join(__dirname, "run-in-user-manager.sh");
const canRun = process.getuid?.() === 0 && fs.existsSync("/usr/lib/systemd/systemd");

// Lines a naive writer would produce, appended to the file: systemd must NOT read these back as written, which
// proves the harness really goes through systemd's parser (a negative control).
const NAIVE_LINES: { key: string; line: string; naiveIntent: string }[] = [
  { key: "NAIVE_PADDED", line: "NAIVE_PADDED=  padded  ", naiveIntent: "  padded  " },
  { key: "NAIVE_BACKSLASH", line: "NAIVE_BACKSLASH=C:\\dir", naiveIntent: "C:\\dir" },
  { key: "NAIVE_QUOTES", line: "NAIVE_QUOTES=\"a\" 'b'", naiveIntent: "\"a\" 'b'" },
];

/** Runs a oneshot unit with EnvironmentFile=envFile under a real systemd manager; returns the process environment. */
function environmentSystemdGives(work: string, envFile: string): Map<string, string> {
  const environ = path.join(work, "environ");
  const unitFile = path.join(work, "zf-env-probe.service");
  fs.writeFileSync(unitFile, [
    "[Service]",
    "Type=oneshot",
    `EnvironmentFile=${envFile}`,
    "ExecStart=/usr/bin/env -0",
    `StandardOutput=truncate:${environ}`,
    "",
  ].join("\n"));
  const run = spawnSync("bash", [HARNESS, work, unitFile], { encoding: "utf8", timeout: 60_000 });
  expect(run.status, `harness failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
  const entries = fs.readFileSync(environ, "utf8").split("\0").filter(Boolean);
  return new Map(entries.map((entry) => {
    const eq = entry.indexOf("=");
    return [entry.slice(0, eq), entry.slice(eq + 1)];
  }));
}

describe.skipIf(!canRun)(".env round trip through systemd 252 EnvironmentFile= (needs root)", () => {
  let work: string;
  let seen: Map<string, string>;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "zf-env-roundtrip-"));
    const envFile = path.join(work, "zombied-worker");
    const text = renderEnvFile(fleetConfig({ secrets: nastySecrets() }));
    fs.writeFileSync(envFile, `${text}${NAIVE_LINES.map((n) => n.line).join("\n")}\n`, { mode: 0o600 });
    seen = environmentSystemdGives(work, envFile);
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test.each(NASTY_VALUES)("the worker sees $name exactly", ({ key, readBack }) => {
    expect(seen.has(key), `${key} missing from the unit's environment`).toBe(true);
    expect(seen.get(key)).toBe(readBack);
  });

  test.each(NAIVE_LINES)("control: the naive line $line does not read back as meant", ({ key, naiveIntent }) => {
    expect(seen.has(key)).toBe(true);
    expect(seen.get(key)).not.toBe(naiveIntent);
  });

  it("sets no variable the file did not name (besides the manager's own)", () => {
    const ours = new Set([...NASTY_VALUES.map((v) => v.key), ...NAIVE_LINES.map((n) => n.key)]);
    const managers = new Set(["HOME", "PATH", "LANG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
      "MANAGERPID", "INVOCATION_ID", "SYSTEMD_EXEC_PID", "QT_ACCESSIBILITY", "USER", "LOGNAME", "SHELL"]);
    expect([...seen.keys()].filter((key) => !ours.has(key) && !managers.has(key))).toEqual([]);
  });
});
