// write-env.sh, run for real: the .env arrives on stdin and must never show up in any output, even traced.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { Harness, RunResult, useHarness } from "./harness";

const SECRET = "postgres://worker:s3cr3t-Pa55@db.internal/zombie";
const ENV_TEXT = `DATABASE_URL_WORKER=${SECRET}\nWORKER_CONCURRENCY=2\n`;

const targets = (h: Harness) => [path.join(h.zfRoot, ".env"), h.env.ZF_ENV_FILE];
const stray = (h: Harness) =>
  [h.zfRoot, path.dirname(h.env.ZF_ENV_FILE)].flatMap((d) => fs.readdirSync(d).filter((f) => f.startsWith(".") && f !== ".env"));

function expectNoSecret(res: RunResult): void {
  expect(res.stdout + res.stderr).not.toContain("s3cr3t");
}

describe("write-env.sh", () => {
  const h = useHarness({ release: false });

  test("writes .env and the worker's env file, root-owned mode 600, and says it changed", async () => {
    const res = await h().runRemote("write-env.sh", { stdin: ENV_TEXT });
    expect(res.code).toBe(0);
    expect(res.status).toEqual({ step: "write-env", host: "zf-test-1", status: "ok", changed: "true" });
    for (const file of targets(h())) {
      expect(fs.readFileSync(file, "utf8")).toBe(ENV_TEXT);
      const st = fs.statSync(file);
      expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o600, 0, 0]);
    }
    expect(stray(h())).toEqual([]);
    expectNoSecret(res);
  });

  test("the same text again is a skip with changed=false", async () => {
    await h().run("write-env.sh", { stdin: ENV_TEXT });
    const again = await h().run("write-env.sh", { stdin: ENV_TEXT });
    expect(again.code).toBe(0);
    expect(again.status).toMatchObject({ status: "skip", changed: "false" });
    expect(again.stdout).not.toMatch(/[0-9a-f]{64}/);
  });

  test("a changed text replaces both files", async () => {
    await h().run("write-env.sh", { stdin: ENV_TEXT });
    const res = await h().run("write-env.sh", { stdin: `${ENV_TEXT}LOG_LEVEL=debug\n` });
    expect(res.status).toMatchObject({ status: "ok", changed: "true" });
    for (const file of targets(h())) expect(fs.readFileSync(file, "utf8")).toContain("LOG_LEVEL=debug");
  });

  test("repairs a file whose mode was loosened, even with the same content", async () => {
    await h().run("write-env.sh", { stdin: ENV_TEXT });
    fs.chmodSync(h().env.ZF_ENV_FILE, 0o644);
    const res = await h().run("write-env.sh", { stdin: ENV_TEXT });
    expect(res.status).toMatchObject({ status: "ok", changed: "true" });
    expect(fs.statSync(h().env.ZF_ENV_FILE).mode & 0o777).toBe(0o600);
  });

  test("never prints the content, even with ZF_TRACE=1", async () => {
    const res = await h().run("write-env.sh", { stdin: ENV_TEXT, env: { ZF_TRACE: 1 } });
    expect(res.code).toBe(0);
    expect(res.stderr).toContain("+ "); // tracing was on
    expectNoSecret(res);
    expect(res.stdout + res.stderr).not.toMatch(/[0-9a-f]{64}/);
  });

  test("rejects an empty .env with exit 2 and keeps the files it had", async () => {
    await h().run("write-env.sh", { stdin: ENV_TEXT });
    const res = await h().run("write-env.sh", { stdin: "" });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason: "empty .env on stdin" });
    for (const file of targets(h())) expect(fs.readFileSync(file, "utf8")).toBe(ENV_TEXT);
    expect(stray(h())).toEqual([]);
  });

  test("fails with exit 1 when a target cannot be written, leaving no temp file with the secret", async () => {
    const blocked = path.join(h().root, "not-a-dir");
    fs.writeFileSync(blocked, "");
    const res = await h().run("write-env.sh", { stdin: ENV_TEXT, env: { ZF_ENV_FILE: path.join(blocked, "zombied-worker") } });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: `could not write ${blocked}/zombied-worker` });
    expect(stray(h()).length + fs.readdirSync(h().zfRoot).filter((f) => f.startsWith(".env.")).length).toBe(0);
    expectNoSecret(res);
  });
});
