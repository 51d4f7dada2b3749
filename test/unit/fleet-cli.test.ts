// `npm run fleet` end to end: the real CLI, the real Automation API, with a fake `pulumi` (the stack's config and
// outputs) and a fake `ssh` first on PATH: hosts that answer, one that hangs (bounded), one that refuses.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { SECRET_MARKERS, existingWorkers, stackConfig } from "../program/fixtures";

const ROOT = path.join(__dirname, "..", "..");
const NOW = 1_760_000_000;

const FAKE_PULUMI = `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_DIR/pulumi.log"
case "$*" in
  version*) echo v3.248.0 ;;
  "config --show-secrets --json --stack "*) cat "$FAKE_DIR/config.json" ;;
  "stack output --json --show-secrets --stack "*) cat "$FAKE_DIR/outputs.json" ;;
  "stack output --json --stack "*) cat "$FAKE_DIR/outputs.json" ;;
  *) echo "fake pulumi: unsupported: $*" >&2; exit 1 ;;
esac
`;

// Records its argv and the key file's mode and content check; answers by address.
const FAKE_SSH = `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_DIR/ssh.log"
key='' prev=''
for a in "$@"; do if [[ "$prev" == -i ]]; then key=$a; fi; prev=$a; done
echo "$(stat -c %a "$key") $(if grep -q "${SECRET_MARKERS.sshKey}" "$key"; then echo key-ok; else echo key-bad; fi)" >>"$FAKE_DIR/keys.log"
target=\${*: -2:1} remote=\${*: -1}
addr=\${target#*@}
case "$addr" in
  192.0.2.2) exec sleep 600 ;;
  192.0.2.3) echo "ssh: connect to host $addr port 22: Connection refused" >&2; exit 255 ;;
esac
if [[ "$remote" == *journalctl* ]]; then echo "journal of $addr: $remote"; exit 0; fi
cat "$FAKE_DIR/answers/$addr.json"
`;

function answer(host: string, current: string) {
  const unit = { state: "active", sub: "running", since: "Thu 2025-10-09 08:53:20 UTC", restarts: 0 };
  return {
    host, now: NOW, current, previous: "v1", units: { executor: unit, worker: unit }, draining: false, inFlight: null,
    drainLine: null, lastStep: { step: "verify", status: "ok", line: `step=verify host=${host} status=ok version=${current}`, at: NOW - 60 },
  };
}

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-fleet-cli-"));
  for (const d of ["bin", "answers", "tmp"]) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, "bin", "pulumi"), FAKE_PULUMI, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "bin", "ssh"), FAKE_SSH, { mode: 0o755 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The stack: config as `pulumi config --json --show-secrets` prints it, outputs as index.ts exports them. */
function stack(workers: { name: string; address?: string; release: string; runs?: string }[]) {
  const raw = stackConfig(existingWorkers(workers.length).map((w, i) => ({ ...w, name: workers[i].name })));
  const secret = new Set(["ssh", "secrets"]);
  const config = Object.fromEntries(Object.entries(raw).map(([k, v]) => [`zombie-fleet:${k}`, { value: JSON.stringify(v), secret: secret.has(k) }]));
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  const outputs = Object.fromEntries(workers.filter((w) => w.address).map((w) => [w.name, { publicAddress: w.address, release: w.release, fingerprint: "[secret]" }]));
  fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify({ workers: outputs, rolloutPlan: {} }));
  for (const w of workers) if (w.address && w.runs) fs.writeFileSync(path.join(dir, "answers", `${w.address}.json`), JSON.stringify(answer(w.name, w.runs)));
}

function fleet(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli/fleet.ts"), ...args], {
      cwd: ROOT, env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, FAKE_DIR: dir, TMPDIR: path.join(dir, "tmp") },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI's temp directories for the key (tsx keeps its own cache there too). */
const keyDirs = () => fs.readdirSync(path.join(dir, "tmp")).filter((f) => f.startsWith("zf-fleet-"));
const log = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");

describe("npm run fleet -- status", () => {
  test("names the host that hangs (bounded), the one that refuses, the one without an address, and the mixed release", async () => {
    stack([
      { name: "w1", address: "192.0.2.1", release: "v2", runs: "v2" },
      { name: "w2", address: "192.0.2.2", release: "v2" },
      { name: "w3", address: "192.0.2.3", release: "v2" },
      { name: "w4", address: "192.0.2.4", release: "v2", runs: "v1" },
      { name: "w5", release: "v2" },
    ]);
    const r = await fleet(["status", "--stack", "test", "--format", "json", "--timeout", "2"]);
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    const byName = Object.fromEntries(out.hosts.map((h: { name: string }) => [h.name, h]));
    expect(byName.w1).toMatchObject({ answered: true, address: "192.0.2.1", report: { current: "v2" } });
    expect(byName.w2).toMatchObject({ answered: false, error: "timed out after 2s" });
    expect(byName.w3).toMatchObject({ answered: false, error: "ssh failed: ssh: connect to host 192.0.2.3 port 22: Connection refused" });
    expect(byName.w4).toMatchObject({ answered: true, recordedRelease: "v2", report: { current: "v1" } });
    expect(byName.w5).toMatchObject({ answered: false, error: expect.stringMatching(/no address in the stack's outputs/) });
    expect(out.verdict).toMatchObject({ exitCode: 1, healthy: false, uniform: false });
    expect(out.verdict.problems).toContain("mixed releases: v1 (w4), v2 (w1)");
    // One ssh per host with an address; the key reached ssh as a 0600 file, never in argv, and is gone afterwards.
    const argv = log("ssh.log").trim().split("\n");
    expect(argv).toHaveLength(4);
    expect(log("keys.log").trim().split("\n")).toEqual(Array(4).fill("600 key-ok"));
    for (const marker of Object.values(SECRET_MARKERS)) expect(log("ssh.log") + r.stdout + r.stderr).not.toContain(marker);
    // The sessions start in parallel: their lines come in any order.
    const w1 = argv.find((line) => line.includes("root@192.0.2.1 "));
    expect(w1).toMatch(/-o BatchMode=yes .*-o ConnectTimeout=1 /);
    expect(w1).toMatch(/-- root@192\.0\.2\.1 env ZF_HOST='w1' ZF_DRAIN_COMPLETE_LOG='drain complete, 0 active runs' ZF_STEP_TIMEOUT='1' bash '\/opt\/zombie\/deploy\/scripts\/status\.sh'$/);
    expect(keyDirs()).toEqual([]);
  });

  test("a fleet on one release, every host healthy: the table and exit 0", async () => {
    stack([{ name: "w1", address: "192.0.2.1", release: "v2", runs: "v2" }, { name: "w4", address: "192.0.2.4", release: "v2", runs: "v2" }]);
    const r = await fleet(["status", "--stack", "test"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^w4 +v2 +v1 +active since/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("verdict: HEALTHY and UNIFORM on v2 (exit 0)");
    expect(log("pulumi.log")).not.toMatch(/stack select/); // the operator's selected stack is left alone
  });

  test.each([
    [["status", "--format", "yaml"], /--format must be one of text, json \(got yaml\)/],
    [["restart"], /the first word must be status or logs \(got restart\)/],
    [["logs"], /logs takes one host \(got none\)/],
    [["status", "--timeout", "0"], /--timeout must be seconds from 1 to 120/],
  ])("bad usage %j: exit 2 and what is wrong", async (args, message) => {
    const r = await fleet(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("npm run fleet -- logs", () => {
  test("follows both units' journal of one host over ssh, the key in a file, --since quoted", async () => {
    stack([{ name: "w1", address: "192.0.2.1", release: "v2" }]);
    const r = await fleet(["logs", "w1", "--since", "10 min ago", "--stack", "test"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("journal of 192.0.2.1: journalctl --no-pager -u zombied-executor -u zombied-worker -f --since='10 min ago'\n");
    const argv = log("ssh.log");
    expect(argv.startsWith(`-i ${path.join(dir, "tmp")}/zf-fleet-`)).toBe(true); // the key's file, in the temp dir removed after
    expect(argv).toMatch(/^-i \S+\/id -p 22 -o IdentitiesOnly=yes .* -- root@192\.0\.2\.1 journalctl /);
    for (const marker of Object.values(SECRET_MARKERS)) expect(argv).not.toContain(marker);
    expect(log("keys.log")).toBe("600 key-ok\n");
    expect(keyDirs()).toEqual([]);
  });

  test("an unknown host: exit 2, naming the stack's workers, no ssh", async () => {
    stack([{ name: "w1", address: "192.0.2.1", release: "v2" }, { name: "w2", address: "192.0.2.2", release: "v2" }]);
    const r = await fleet(["logs", "w9", "--stack", "test"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no worker w9 in stack test; its workers: w1, w2");
    expect(fs.existsSync(path.join(dir, "ssh.log"))).toBe(false);
  });
});
