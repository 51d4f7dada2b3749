// layout.sh, run for real: directories and owners, and packages through the apt-get / dpkg-query stand-ins. The
// scripts themselves are installed by install-bundle.sh (install-bundle.test.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { Harness, useHarness } from "./harness";
import { stepEnv } from "./step-env";

const PACKAGES = "bubblewrap ca-certificates curl git openssl make";

function installed(h: Harness, packages: string): void {
  fs.writeFileSync(path.join(h.fake, "dpkg-installed"), packages.split(" ").filter(Boolean).join("\n") + "\n");
}

const deployDir = (h: Harness) => path.join(h.zfRoot, "deploy");

describe("layout.sh", () => {
  const h = useHarness({ standins: ["systemctl", "journalctl", "apt-get", "dpkg-query"], release: false });
  test("creates the layout; no apt-get when every package is installed", async () => {
    fs.rmSync(h().zfRoot, { recursive: true });
    installed(h(), PACKAGES);
    const res = await h().runRemote("layout.sh", { env: stepEnv("layout", { ZF_PACKAGES: PACKAGES }) });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ step: "layout", status: "skip", installed: "0" });
    for (const dir of [h().zfRoot, path.join(h().zfRoot, "releases"), deployDir(h())]) {
      const st = fs.statSync(dir);
      expect([st.mode & 0o777, st.uid]).toEqual([0o755, 0]);
    }
    expect(h().calls("apt-get")).toEqual([]);
    expect(h().calls("dpkg-query")).toHaveLength(6);
  });

  test("installs only the missing packages", async () => {
    installed(h(), "bubblewrap ca-certificates curl openssl");
    const res = await h().run("layout.sh", { env: stepEnv("layout", { ZF_PACKAGES: PACKAGES }) });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ status: "ok", installed: "2" });
    expect(h().calls("apt-get")).toEqual(["apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=60 -- git make"]);
  });

  test("refreshes the package lists once when the install fails, then fails with exit 1", async () => {
    installed(h(), "");
    fs.writeFileSync(path.join(h().fake, "fail/apt-get"), "E: Unable to locate package git\n");
    const res = await h().run("layout.sh", { env: stepEnv("layout", { ZF_PACKAGES: "git" }) });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "apt-get install failed (exit 100)", packages: "git" });
    expect(h().calls("apt-get").map((c) => c.split(" ")[1])).toEqual(["install", "update"]);
  });

  test("owns the directories by ZF_OWNER", async () => {
    installed(h(), "");
    const res = await h().run("layout.sh", { env: stepEnv("layout", { ZF_OWNER: "nobody" }) });
    expect(res.code).toBe(0);
    const nobody = Number(h().sh("id -u nobody").stdout.trim());
    expect(fs.statSync(deployDir(h())).uid).toBe(nobody);
    expect(fs.statSync(path.join(h().zfRoot, "releases")).uid).toBe(nobody);
  });

  test.each([
    ["an unknown owner", { ZF_OWNER: "no-such-user" }, "", "ZF_OWNER no-such-user is not a user on this host"],
    ["a package name that looks like an option", { ZF_PACKAGES: "curl --allow-unauthenticated" }, "", "bad package name --allow-unauthenticated"],
  ])("rejects %s with exit 2", async (_what, env, stdin, reason) => {
    installed(h(), "curl");
    const res = await h().run("layout.sh", { env: stepEnv("layout", env), stdin });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason });
    expect(h().calls("apt-get")).toEqual([]);
  });
});
