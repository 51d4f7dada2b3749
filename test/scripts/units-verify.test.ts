// `systemd-analyze verify` (systemd 252) on the rendered units, failing on ANY output: typos, unknown keys and bad
// signal names only print "…, ignoring" and still exit 0 (facts/testhosts.md). The units are verified inside a
// temp `--root=` holding them, the machine's own /usr/lib/systemd/system (for sysinit.target, multi-user.target,
// network.target, …), and executable stand-ins at every Exec*= path, since verify checks that those exist.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it, test } from "vitest";
import { RenderedUnits, renderUnits } from "../../host/units";
import { fleetConfig } from "../fixtures/minimal-fleet-config";

const SYSTEM_UNITS = "/usr/lib/systemd/system";
const hasVerify = spawnSync("systemd-analyze", ["--version"]).status === 0 && fs.existsSync(SYSTEM_UNITS);
const roots: string[] = [];

/** Absolute program paths of every Exec*= line (the first word, without systemd's -@:+! prefixes). */
function execPaths(text: string): string[] {
  return [...text.matchAll(/^Exec\w+=[-@:+!]*(\/\S+)/gm)].map((m) => m[1]);
}

/** A temp root with the units in /etc/systemd/system and stand-ins for their programs. */
function makeRoot(units: RenderedUnits, options: { skipStandIn?: string } = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "zf-units-verify-"));
  roots.push(root);
  fs.cpSync(SYSTEM_UNITS, path.join(root, SYSTEM_UNITS), { recursive: true, verbatimSymlinks: true });
  const unitDir = path.join(root, "etc/systemd/system");
  fs.mkdirSync(unitDir, { recursive: true });
  for (const unit of [units.executor, units.worker]) {
    fs.writeFileSync(path.join(unitDir, unit.name), unit.text);
    for (const program of execPaths(unit.text)) {
      if (program === options.skipStandIn) continue;
      fs.mkdirSync(path.join(root, path.dirname(program)), { recursive: true });
      fs.writeFileSync(path.join(root, program), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    }
  }
  return root;
}

function verify(root: string, units: RenderedUnits): { status: number | null; output: string } {
  const run = spawnSync("systemd-analyze", ["verify", "--man=no", `--root=${root}`, units.executor.name, units.worker.name], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!hasVerify)("systemd-analyze verify on the rendered units", () => {
  test.each([
    ["defaults (SIGUSR1, 6m, no PartOf)", {}],
    ["PartOf, SIGTERM, 90s drain", { units: { workerPartOfExecutor: true }, drain: { signal: "SIGTERM" }, rollout: { drainDeadline: "90s" }, env: { RUN_TIMEOUT_MS: "60000" } }],
    ["SIGINT, 1h drain", { drain: { signal: "SIGINT" }, rollout: { drainDeadline: "1h" } }],
  ])("passes silently for %s", (_name, overrides) => {
    const units = renderUnits(fleetConfig(overrides));
    const result = verify(makeRoot(units), units);
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it("control: catches a typo'd directive, which verify only prints and still exits 0 for", () => {
    const units = renderUnits(fleetConfig());
    const typo = { ...units, worker: { ...units.worker, text: units.worker.text.replace(/^KillMode=/m, "KilMode=") } };
    const result = verify(makeRoot(typo), typo);
    expect(result.output).toMatch(/Unknown key 'KilMode'/);
    expect(result.status).toBe(0);
  });

  it("control: catches a bad signal name", () => {
    const units = renderUnits(fleetConfig());
    const bad = { ...units, worker: { ...units.worker, text: units.worker.text.replace(/^KillSignal=.*$/m, "KillSignal=SIGDRAIN") } };
    expect(verify(makeRoot(bad), bad).output).toMatch(/Failed to parse signal name, ignoring: SIGDRAIN/);
  });

  it("control: catches an ExecStart program missing from the root", () => {
    const units = renderUnits(fleetConfig());
    const result = verify(makeRoot(units, { skipStandIn: "/opt/zombie/current/zombied" }), units);
    expect(result.output).toMatch(/zombied is not executable/);
  });
});

describe("the executor's socket wait", () => {
  it("is valid sh", () => {
    const text = renderUnits(fleetConfig()).executor.text;
    const script = /^ExecStartPost=\/bin\/sh -c '([^']*)'$/m.exec(text)?.[1];
    expect(script).toBeDefined();
    const check = spawnSync("sh", ["-n", "-c", script!], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});
