// deploy.sh, run for real with curl against file:// URLs and a local HTTP server: install, switch, keep, prune.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { Harness, useHarness } from "./harness";
import { Artifact, LocalServer, makeArtifact, startServer } from "./local-server";

interface Release {
  version: string;
  worker: Artifact;
  executor: Artifact;
}

function release(h: Harness, version: string, opts: { dotSlash?: boolean } = {}): Release {
  const dir = path.join(h.root, "artifacts");
  fs.mkdirSync(dir, { recursive: true });
  return { version, worker: makeArtifact(dir, "zombied", version, opts), executor: makeArtifact(dir, "zombied-executor", version, opts) };
}

function inputs(r: Release, over: Record<string, string | number> = {}): Record<string, string | number> {
  return {
    ZF_VERSION: r.version,
    ZF_WORKER_URL: `file://${r.worker.file}`,
    ZF_WORKER_SHA256: r.worker.sha256,
    ZF_EXECUTOR_URL: `file://${r.executor.file}`,
    ZF_EXECUTOR_SHA256: r.executor.sha256,
    ZF_KEEP_RELEASES: 3,
    ZF_STEP_TIMEOUT: 20,
    ...over,
  };
}

const releasesOn = (h: Harness) => fs.readdirSync(path.join(h.zfRoot, "releases")).sort();
const leftovers = (h: Harness) => releasesOn(h).filter((n) => n.startsWith("."));

describe("deploy.sh", () => {
  const h = useHarness();
  let server: LocalServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test("installs a release on a fresh host, switches current and links the binaries, without running them", async () => {
    const fresh = new Harness({ release: false });
    try {
      const r = release(fresh, "2.0.0");
      const res = await fresh.run("deploy.sh", { env: inputs(r) });
      expect(res.code).toBe(0);
      expect(res.status).toMatchObject({ step: "deploy", status: "ok", version: "2.0.0", download: "fetched", previous: "none", pruned: "0" });
      const dir = path.join(fresh.zfRoot, "releases/2.0.0");
      expect(fs.readFileSync(path.join(dir, "zombied"), "utf8")).toBe(r.worker.content);
      expect(fs.readFileSync(path.join(dir, "zombied-executor"), "utf8")).toBe(r.executor.content);
      expect(fs.readFileSync(path.join(dir, "VERSION"), "utf8")).toBe("2.0.0\n");
      expect(fs.statSync(path.join(dir, "zombied")).mode & 0o777).toBe(0o755);
      expect(fs.readlinkSync(path.join(fresh.zfRoot, "current"))).toBe("releases/2.0.0");
      expect(fs.existsSync(path.join(fresh.zfRoot, "previous"))).toBe(false);
      for (const bin of ["zombied", "zombied-executor"]) {
        expect(fs.readlinkSync(path.join(fresh.binDir, bin))).toBe(path.join(fresh.zfRoot, "current", bin));
        expect(fs.existsSync(path.join(fresh.root, "artifacts", `ran-${bin}`))).toBe(false);
      }
      expect(leftovers(fresh)).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });

  test("points previous at the release that was current, and accepts ./-prefixed tarball members", async () => {
    const r = release(h(), "2.0.0", { dotSlash: true });
    const res = await h().run("deploy.sh", { env: inputs(r) });
    expect(res.status).toMatchObject({ status: "ok", download: "fetched", previous: "1.0.0" });
    expect(h().release("current")).toBe("2.0.0");
    expect(h().release("previous")).toBe("1.0.0");
    expect(fs.readFileSync(path.join(h().binDir, "zombied"), "utf8")).toBe(r.worker.content);
  });

  test("a second deploy of the same version skips the download and changes nothing", async () => {
    const r = release(h(), "2.0.0");
    server = await startServer((p) => ({ body: fs.readFileSync(p.includes("executor") ? r.executor.file : r.worker.file) }));
    const env = inputs(r, { ZF_WORKER_URL: `${server.url}/zombied.tar.gz`, ZF_EXECUTOR_URL: `${server.url}/zombied-executor.tar.gz` });
    const first = await h().runRemote("deploy.sh", { env });
    expect(first.status).toMatchObject({ status: "ok", download: "fetched" });
    expect(server.requests).toHaveLength(2);
    const again = await h().runRemote("deploy.sh", { env });
    expect(again.code).toBe(0);
    expect(again.status).toMatchObject({ status: "skip", download: "skipped", version: "2.0.0", previous: "1.0.0" });
    expect(server.requests).toHaveLength(2);
    expect(h().release("current")).toBe("2.0.0");
    expect(h().release("previous")).toBe("1.0.0");
  });

  test("switching back to a release still on the host skips the download and swaps current and previous", async () => {
    const r2 = release(h(), "2.0.0");
    const r3 = release(h(), "3.0.0");
    await h().run("deploy.sh", { env: inputs(r2) });
    await h().run("deploy.sh", { env: inputs(r3) });
    fs.rmSync(r2.worker.file);
    const back = await h().run("deploy.sh", { env: inputs(r2) });
    expect(back.status).toMatchObject({ status: "ok", download: "skipped", previous: "3.0.0" });
    expect([h().release("current"), h().release("previous")]).toEqual(["2.0.0", "3.0.0"]);
  });

  test("re-downloads a release whose installed binary no longer matches what was recorded", async () => {
    const r = release(h(), "2.0.0");
    await h().run("deploy.sh", { env: inputs(r) });
    fs.writeFileSync(path.join(h().zfRoot, "releases/2.0.0/zombied"), "tampered");
    const res = await h().run("deploy.sh", { env: inputs(r) });
    expect(res.status).toMatchObject({ status: "ok", download: "fetched" });
    expect(fs.readFileSync(path.join(h().zfRoot, "releases/2.0.0/zombied"), "utf8")).toBe(r.worker.content);
    expect(h().release("previous")).toBe("1.0.0");
    expect(leftovers(h())).toEqual([]);
  });

  test("a checksum mismatch exits 1, leaves the old release current and removes the partial files", async () => {
    const r = release(h(), "2.0.0");
    const res = await h().run("deploy.sh", { env: inputs(r, { ZF_EXECUTOR_SHA256: "0".repeat(64) }) });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "sha256 mismatch for the executor artifact", expected: "0".repeat(64), got: r.executor.sha256 });
    expect(h().release("current")).toBe("1.0.0");
    expect(fs.readlinkSync(path.join(h().binDir, "zombied"))).toBe(path.join(h().zfRoot, "current/zombied"));
    expect(releasesOn(h())).toEqual(["1.0.0"]);
  });

  test("a checksum mismatch on a re-deploy of the current version keeps the installed copy", async () => {
    const r = release(h(), "2.0.0");
    await h().run("deploy.sh", { env: inputs(r) });
    const res = await h().run("deploy.sh", { env: inputs(r, { ZF_WORKER_SHA256: "f".repeat(64) }) });
    expect(res.code).toBe(1);
    expect(h().release("current")).toBe("2.0.0");
    expect(fs.readFileSync(path.join(h().zfRoot, "releases/2.0.0/zombied"), "utf8")).toBe(r.worker.content);
    expect(leftovers(h())).toEqual([]);
  });

  test("a failed download (HTTP 404) exits 1 and leaves current untouched", async () => {
    const r = release(h(), "2.0.0");
    server = await startServer(() => ({ status: 404, body: "not found" }));
    const res = await h().run("deploy.sh", { env: inputs(r, { ZF_WORKER_URL: `${server.url}/gone.tar.gz` }) });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "download of the worker artifact failed (curl exit 22)" });
    expect(h().release("current")).toBe("1.0.0");
    expect(releasesOn(h())).toEqual(["1.0.0"]);
  });

  test("a download that does not finish by the step deadline exits 3", async () => {
    const r = release(h(), "2.0.0");
    server = await startServer(() => ({ hang: true }));
    const res = await h().run("deploy.sh", { env: inputs(r, { ZF_WORKER_URL: `${server.url}/slow.tar.gz`, ZF_STEP_TIMEOUT: 1 }) });
    expect(res.code).toBe(3);
    expect(res.status).toMatchObject({ status: "fail", reason: "download of the worker artifact timed out" });
    expect(h().release("current")).toBe("1.0.0");
    expect(releasesOn(h())).toEqual(["1.0.0"]);
  });

  test("an artifact without its binary at the top level exits 1", async () => {
    const r = release(h(), "2.0.0");
    const res = await h().run("deploy.sh", { env: inputs(r, { ZF_WORKER_URL: `file://${r.executor.file}`, ZF_WORKER_SHA256: r.executor.sha256 }) });
    expect(res.code).toBe(1);
    expect(res.status?.reason).toBe("the zombied artifact has no zombied file at its top level");
    expect(h().release("current")).toBe("1.0.0");
    expect(releasesOn(h())).toEqual(["1.0.0"]);
  });

  test("prunes to ZF_KEEP_RELEASES, most recently used first", async () => {
    for (const v of ["2.0.0", "3.0.0", "4.0.0"]) {
      const res = await h().run("deploy.sh", { env: inputs(release(h(), v), { ZF_KEEP_RELEASES: 2 }) });
      expect(res.code).toBe(0);
    }
    expect(releasesOn(h())).toEqual(["3.0.0", "4.0.0"]);
    expect([h().release("current"), h().release("previous")]).toEqual(["4.0.0", "3.0.0"]);
  });

  test("never prunes the current or the previous release, even with a keep of 1", async () => {
    const res = await h().run("deploy.sh", { env: inputs(release(h(), "2.0.0"), { ZF_KEEP_RELEASES: 1 }) });
    expect(res.status).toMatchObject({ status: "ok", pruned: "0" });
    expect(releasesOn(h())).toEqual(["1.0.0", "2.0.0"]);
    const third = await h().run("deploy.sh", { env: inputs(release(h(), "3.0.0"), { ZF_KEEP_RELEASES: 1 }) });
    expect(third.status).toMatchObject({ status: "ok", pruned: "1", previous: "2.0.0" });
    expect(releasesOn(h())).toEqual(["2.0.0", "3.0.0"]);
  });

  test.each([
    ["a missing checksum", { ZF_WORKER_SHA256: "" }, "missing input ZF_WORKER_SHA256"],
    ["a version that is a path", { ZF_VERSION: "../etc" }, "ZF_VERSION is not a release name (got ../etc)"],
    ["an uppercase checksum", { ZF_EXECUTOR_SHA256: "A".repeat(64) }, "ZF_EXECUTOR_SHA256 must be 64 lowercase hex characters"],
    ["a keep of 0", { ZF_KEEP_RELEASES: 0 }, "ZF_KEEP_RELEASES must be a positive integer (got 0)"],
  ])("rejects %s with exit 2 before touching anything", async (_name, over, reason) => {
    const res = await h().run("deploy.sh", { env: inputs(release(h(), "2.0.0"), over) });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason });
    expect(releasesOn(h())).toEqual(["1.0.0"]);
  });
});
