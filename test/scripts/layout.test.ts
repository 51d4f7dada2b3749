// layout.sh, run for real: directories and owners, packages through the apt-get / dpkg-query stand-ins, and the
// deploy bundle from stdin.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { Harness, useHarness } from "./harness";

const PACKAGES = "bubblewrap ca-certificates curl git openssl make";

function bundle(files: Record<string, string>): string {
  return Object.entries(files).map(([name, text]) => `${name}\t${Buffer.from(text).toString("base64")}\n`).join("");
}

function installed(h: Harness, packages: string): void {
  fs.writeFileSync(path.join(h.fake, "dpkg-installed"), packages.split(" ").filter(Boolean).join("\n") + "\n");
}

const deployDir = (h: Harness) => path.join(h.zfRoot, "deploy");
const listDeploy = (h: Harness) => fs.readdirSync(deployDir(h)).sort();

describe("layout.sh", () => {
  const h = useHarness({ standins: ["systemctl", "journalctl", "apt-get", "dpkg-query"], release: false });
  const SCRIPTS = { "lib.sh": "# lib\n", "drain.sh": "#!/usr/bin/env bash\necho drain\n" };

  test("creates the layout and writes the bundle; no apt-get when every package is installed", async () => {
    fs.rmSync(h().zfRoot, { recursive: true });
    installed(h(), PACKAGES);
    const res = await h().runRemote("layout.sh", { env: { ZF_PACKAGES: PACKAGES }, stdin: bundle(SCRIPTS) });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ step: "layout", status: "ok", installed: "0", files_written: "2", files: "2" });
    for (const dir of [h().zfRoot, path.join(h().zfRoot, "releases"), deployDir(h())]) {
      const st = fs.statSync(dir);
      expect([st.mode & 0o777, st.uid]).toEqual([0o755, 0]);
    }
    expect(listDeploy(h())).toEqual(["drain.sh", "lib.sh"]);
    expect(fs.readFileSync(path.join(deployDir(h()), "drain.sh"), "utf8")).toBe(SCRIPTS["drain.sh"]);
    expect(fs.statSync(path.join(deployDir(h()), "drain.sh")).mode & 0o777).toBe(0o755);
    expect(h().calls("apt-get")).toEqual([]);
    expect(h().calls("dpkg-query")).toHaveLength(6);
  });

  test("a second run with the same bundle changes nothing and reports skip", async () => {
    installed(h(), PACKAGES);
    await h().run("layout.sh", { env: { ZF_PACKAGES: PACKAGES }, stdin: bundle(SCRIPTS) });
    const again = await h().run("layout.sh", { env: { ZF_PACKAGES: PACKAGES }, stdin: bundle(SCRIPTS) });
    expect(again.code).toBe(0);
    expect(again.status).toMatchObject({ status: "skip", installed: "0", files_written: "0", files: "2" });
    expect(h().calls("apt-get")).toEqual([]);
  });

  test("rewrites only the files whose content changed", async () => {
    installed(h(), "");
    await h().run("layout.sh", { stdin: bundle(SCRIPTS) });
    const res = await h().run("layout.sh", { stdin: bundle({ ...SCRIPTS, "drain.sh": "#!/usr/bin/env bash\necho v2\n" }) });
    expect(res.status).toMatchObject({ status: "ok", files_written: "1" });
    expect(fs.readFileSync(path.join(deployDir(h()), "drain.sh"), "utf8")).toContain("v2");
  });

  test("installs only the missing packages", async () => {
    installed(h(), "bubblewrap ca-certificates curl openssl");
    const res = await h().run("layout.sh", { env: { ZF_PACKAGES: PACKAGES } });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ status: "ok", installed: "2", files: "0" });
    expect(h().calls("apt-get")).toEqual(["apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=60 -- git make"]);
  });

  test("refreshes the package lists once when the install fails, then fails with exit 1", async () => {
    installed(h(), "");
    fs.writeFileSync(path.join(h().fake, "fail/apt-get"), "E: Unable to locate package git\n");
    const res = await h().run("layout.sh", { env: { ZF_PACKAGES: "git" } });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "apt-get install failed (exit 100)", packages: "git" });
    expect(h().calls("apt-get").map((c) => c.split(" ")[1])).toEqual(["install", "update"]);
  });

  test("owns the directories and files by ZF_OWNER", async () => {
    installed(h(), "");
    const res = await h().run("layout.sh", { env: { ZF_OWNER: "nobody" }, stdin: bundle(SCRIPTS) });
    expect(res.code).toBe(0);
    const nobody = Number(h().sh("id -u nobody").stdout.trim());
    expect(fs.statSync(deployDir(h())).uid).toBe(nobody);
    expect(fs.statSync(path.join(deployDir(h()), "lib.sh")).uid).toBe(nobody);
  });

  test.each([
    ["a name with a slash", "../../etc/cron.d/x"],
    ["a dot-dot name", ".."],
    ["a name that hides a path", "a/b.sh"],
  ])("rejects %s with exit 2 and writes no file of the bundle", async (_what, name) => {
    installed(h(), "");
    const res = await h().run("layout.sh", { stdin: bundle({ "lib.sh": "# lib\n", [name]: "evil\n" }) });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason: `bad bundle file name ${name}` });
    expect(listDeploy(h())).toEqual([]);
  });

  test.each([
    ["an unknown owner", { ZF_OWNER: "no-such-user" }, "", "ZF_OWNER no-such-user is not a user on this host"],
    ["a package name that looks like an option", { ZF_PACKAGES: "curl --allow-unauthenticated" }, "", "bad package name --allow-unauthenticated"],
    ["content that is not base64", {}, "lib.sh\t***\n", "bundle file lib.sh is not valid base64"],
  ])("rejects %s with exit 2", async (_what, env, stdin, reason) => {
    installed(h(), "curl");
    const res = await h().run("layout.sh", { env, stdin });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason });
    expect(h().calls("apt-get")).toEqual([]);
  });
});
