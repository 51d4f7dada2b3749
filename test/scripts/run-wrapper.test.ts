// run.sh, the wrapper every command calls: the provider's error is the command and then all output
// (pulumi-command v1.2.1 remote/commandOutputs.go), so the step's status line must come first.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { scriptCommand } from "../../host/script-command";
import { useHarness } from "./harness";
import { stepEnv } from "./step-env";

describe("run.sh", () => {
  const h = useHarness({ standins: ["systemctl", "journalctl", "apt-get", "dpkg-query"], release: false });

  test("a failing step prints its status line first, its output after, and keeps its exit code", async () => {
    fs.writeFileSync(path.join(h().fake, "dpkg-installed"), "\n");
    fs.writeFileSync(path.join(h().fake, "fail/apt-get"), "E: Unable to locate package git\n");
    const res = await h().runRemote("layout.sh", { env: stepEnv("layout", { ZF_PACKAGES: "git" }) });
    expect(res.code).toBe(1);
    const lines = res.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe('step=layout host=zf-test-1 status=fail reason="apt-get install failed (exit 100)" packages=git');
    expect(lines[1]).toMatch(/^--- layout output: \d+ lines \(last \d+ shown\), log .*\/log\/layout\.log ---$/);
    expect(lines.slice(2)).toContain("installing git");
    expect(lines.slice(1).some((l) => l.startsWith("step="))).toBe(false);
  });

  test("keeps the whole output in a root-only log and shows only its last 60 lines", async () => {
    const scripts = path.join(h().zfRoot, "deploy", "scripts");
    await h().runRemote("layout.sh", {}); // installs the bundle
    fs.writeFileSync(path.join(scripts, "chatty.sh"), 'for i in $(seq 1 100); do echo "line $i"; done\necho "step=chatty host=x status=fail"\nexit 3\n');
    const res = h().sh(scriptCommand("chatty" as never, {}, { sudo: false, scriptsDir: scripts }));
    expect(res.code).toBe(3);
    const lines = res.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("step=chatty host=x status=fail");
    expect(lines[1]).toContain("--- chatty output: 100 lines (last 60 shown)");
    expect(lines.slice(2)).toEqual(Array.from({ length: 60 }, (_, i) => `line ${i + 41}`));
    const log = path.join(h().zfRoot, "log", "chatty.log");
    expect(fs.readFileSync(log, "utf8").split("\n").filter(Boolean)).toHaveLength(101);
    expect(fs.statSync(log).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(log)).mode & 0o777).toBe(0o700);
  });

  test("a step that ends without a status line fails with one", async () => {
    const scripts = path.join(h().zfRoot, "deploy", "scripts");
    await h().runRemote("layout.sh", {});
    fs.writeFileSync(path.join(scripts, "mute.sh"), "echo working\n");
    const res = h().sh(scriptCommand("mute" as never, {}, { sudo: false, scriptsDir: scripts }));
    expect(res.code).toBe(1);
    expect(res.stdout.split("\n")[0]).toBe('step=mute host=zf-test-1 status=fail reason="exited 0 without a status line"');
  });

  test("an unknown step fails with exit 2 and names it", async () => {
    await h().runRemote("layout.sh", {});
    const res = h().sh(scriptCommand("../etc/x" as never, {}, { sudo: false, scriptsDir: path.join(h().zfRoot, "deploy", "scripts") }));
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/^step=\.\.\/etc\/x host=zf-test-1 status=fail reason="no step script/);
  });
});
