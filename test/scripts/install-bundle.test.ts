// install-bundle.sh, run for real the way the program sends it (script-command.ts installBundleCommand): a
// versioned bundle directory, an atomic switch of deploy/scripts, the previous bundle kept, bad input refused.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { installBundleCommand, scriptBundle } from "../../host/script-command";
import { sha256 } from "../../host/sha256";
import { parseStatusLines } from "./harness";

let root = "";
beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), "zf-bundle-")); });
afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

function bundleOf(files: Record<string, string>): { text: string; hash: string } {
  const text = Object.entries(files).map(([name, body]) => `${name}\t${Buffer.from(body).toString("base64")}\n`).join("");
  return { text, hash: sha256(text) };
}

function install(bundle: { text: string; hash: string }, hash = bundle.hash) {
  const run = spawnSync("bash", ["-c", installBundleCommand("w1", hash, { sudo: false, root })], { input: bundle.text, encoding: "utf8" });
  return { code: run.status, out: run.stdout + run.stderr, status: parseStatusLines(run.stdout).at(-1) };
}

const scriptsLink = () => path.join(root, "deploy", "scripts");
const bundles = () => fs.readdirSync(path.join(root, "deploy", "bundles")).filter((d) => !d.startsWith(".")).sort();

describe("install-bundle.sh", () => {
  test("installs the program's bundle: every script, mode 755, behind deploy/scripts", () => {
    const bundle = scriptBundle();
    const res = install(bundle);
    expect(res.code, res.out).toBe(0);
    const files = bundle.text.trim().split("\n").map((line) => line.split("\t")[0]);
    expect(res.status).toMatchObject({ step: "install-bundle", status: "ok", bundle: bundle.hash.slice(0, 12), files: String(files.length) });
    expect(fs.readlinkSync(scriptsLink())).toBe(`bundles/${bundle.hash}`);
    expect(fs.readdirSync(scriptsLink()).sort()).toEqual(files);
    for (const f of files) {
      expect(fs.readFileSync(path.join(scriptsLink(), f), "utf8")).toBe(fs.readFileSync(path.join("host-scripts", f), "utf8"));
      expect(fs.statSync(path.join(scriptsLink(), f)).mode & 0o777).toBe(0o755);
    }
  });

  test("the same bundle again changes nothing and reports skip", () => {
    const bundle = bundleOf({ "lib.sh": "# lib\n" });
    install(bundle);
    expect(install(bundle).status).toMatchObject({ status: "skip" });
  });

  test("a new bundle switches deploy/scripts, keeps the one it replaces and drops older ones", () => {
    const [v1, v2, v3] = ["1", "2", "3"].map((v) => bundleOf({ "lib.sh": `# v${v}\n` }));
    for (const b of [v1, v2, v3]) expect(install(b).code).toBe(0);
    expect(fs.readFileSync(path.join(scriptsLink(), "lib.sh"), "utf8")).toBe("# v3\n");
    expect(bundles()).toEqual([v2.hash, v3.hash].sort());
  });

  test.each([
    ["a bundle whose hash is not the one named", bundleOf({ "lib.sh": "# lib\n" }), sha256("other"), "the bundle on stdin is not"],
    ["a name with a slash", bundleOf({ "../x.sh": "evil\n" }), undefined, "bad bundle file name ../x.sh"],
    ["a name that is not a script", bundleOf({ ".profile": "evil\n" }), undefined, "bad bundle file name .profile"],
    ["content that is not base64", { text: "lib.sh\t***\n", hash: sha256("lib.sh\t***\n") }, undefined, "bundle file lib.sh is not valid base64"],
    ["a hash that is not a sha256", bundleOf({ "lib.sh": "# lib\n" }), "latest", "ZF_BUNDLE must be a sha256 (got latest)"],
  ])("refuses %s with exit 2 and switches nothing", (_what, bundle, hash, reason) => {
    const good = bundleOf({ "lib.sh": "# good\n" });
    install(good);
    const res = install(bundle, hash ?? bundle.hash);
    expect(res.code).toBe(2);
    expect(res.status?.status).toBe("fail");
    expect(res.status?.reason).toContain(reason);
    expect(fs.readlinkSync(scriptsLink())).toBe(`bundles/${good.hash}`);
    expect(fs.readdirSync(path.join(root, "deploy", "bundles"))).toEqual([good.hash]);
  });
});
