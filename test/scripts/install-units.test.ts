// install-units.sh, run for real against the fake systemctl (daemon-reload / enable / is-enabled are recorded).
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { EXECUTOR, Harness, useHarness, WORKER } from "./harness";

const EXECUTOR_TEXT = "[Unit]\nDescription=zombied executor\n\n[Service]\nExecStart=/usr/local/bin/zombied-executor\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n";
const WORKER_TEXT = "[Unit]\nRequires=zombied-executor.service\n\n[Service]\nExecStart=/usr/local/bin/zombied worker\nRestart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n";
const b64 = (text: string) => Buffer.from(text).toString("base64");
const units = (executor = EXECUTOR_TEXT, worker = WORKER_TEXT) => ({
  ZF_EXECUTOR_UNIT_TEXT_B64: b64(executor),
  ZF_WORKER_UNIT_TEXT_B64: b64(worker),
});
const unitFile = (h: Harness, unit: string) => path.join(h.unitDir, `${unit}.service`);

describe("install-units.sh", () => {
  const h = useHarness({ release: false, worker: false, executor: false });

  test("takes the unit texts from stdin, as the program sends them", async () => {
    const stdin = Object.entries(units()).map(([k, v]) => `${k}=${v}\n`).join("");
    const res = await h().runRemote("install-units.sh", { stdin });
    expect(res.code).toBe(0);
    expect(res.status).toMatchObject({ status: "ok", written: "2" });
    expect(fs.readFileSync(unitFile(h(), WORKER), "utf8")).toBe(WORKER_TEXT);
  });

  test("refuses a stdin line that is not a unit text without echoing it", async () => {
    const res = await h().run("install-units.sh", { env: units(), stdin: "API_TOKEN=s3cret\n" });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason: "a stdin line is not a unit text (ZF_*_UNIT_TEXT_B64=…)" });
    expect(res.stdout + res.stderr).not.toContain("s3cret");
  });

  test("writes both unit files, reloads systemd and enables both units", async () => {
    const res = await h().runRemote("install-units.sh", { env: units() });
    expect(res.code).toBe(0);
    expect(res.status).toEqual({ step: "install-units", host: "zf-test-1", status: "ok", changed: "true", written: "2", enabled: "2" });
    expect(fs.readFileSync(unitFile(h(), EXECUTOR), "utf8")).toBe(EXECUTOR_TEXT);
    expect(fs.readFileSync(unitFile(h(), WORKER), "utf8")).toBe(WORKER_TEXT);
    expect(fs.statSync(unitFile(h(), WORKER)).mode & 0o777).toBe(0o644);
    expect(h().calls("systemctl")).toEqual([
      "systemctl daemon-reload",
      "systemctl is-enabled zombied-executor.service",
      "systemctl enable --quiet zombied-executor.service",
      "systemctl is-enabled zombied-worker.service",
      "systemctl enable --quiet zombied-worker.service",
    ]);
    expect([h().unitState(EXECUTOR).UnitFileState, h().unitState(WORKER).UnitFileState]).toEqual(["enabled", "enabled"]);
    expect(fs.readdirSync(h().unitDir).filter((f) => f.startsWith("."))).toEqual([]);
  });

  test("unchanged units that are enabled: skip, no daemon-reload, no enable", async () => {
    await h().run("install-units.sh", { env: units() });
    const before = h().calls("systemctl").length;
    const again = await h().run("install-units.sh", { env: units() });
    expect(again.code).toBe(0);
    expect(again.status).toMatchObject({ status: "skip", changed: "false", written: "0", enabled: "0" });
    expect(h().calls("systemctl").slice(before)).toEqual([
      "systemctl is-enabled zombied-executor.service",
      "systemctl is-enabled zombied-worker.service",
    ]);
  });

  test("rewrites only the unit that changed, then reloads", async () => {
    await h().run("install-units.sh", { env: units() });
    const before = h().calls("systemctl").length;
    const res = await h().run("install-units.sh", { env: units(EXECUTOR_TEXT, WORKER_TEXT.replace("on-failure", "no")) });
    expect(res.status).toMatchObject({ status: "ok", changed: "true", written: "1", enabled: "0" });
    expect(h().calls("systemctl").slice(before)).toContain("systemctl daemon-reload");
    expect(fs.readFileSync(unitFile(h(), WORKER), "utf8")).toContain("Restart=no");
  });

  test("enables units that are installed but were never enabled, without a reload", async () => {
    fs.writeFileSync(unitFile(h(), EXECUTOR), EXECUTOR_TEXT);
    fs.writeFileSync(unitFile(h(), WORKER), WORKER_TEXT);
    const res = await h().run("install-units.sh", { env: units() });
    expect(res.status).toMatchObject({ status: "ok", changed: "true", written: "0", enabled: "2" });
    expect(h().calls("systemctl")).not.toContain("systemctl daemon-reload");
  });

  test("fails with exit 1 when daemon-reload fails", async () => {
    h().failVerb("daemon-reload");
    const res = await h().run("install-units.sh", { env: units() });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "systemctl daemon-reload failed" });
  });

  test("fails with exit 1 when enable fails", async () => {
    h().failVerb("enable");
    const res = await h().run("install-units.sh", { env: units() });
    expect(res.code).toBe(1);
    expect(res.status).toMatchObject({ status: "fail", reason: "systemctl enable zombied-executor.service failed" });
  });

  test.each([
    ["a missing worker unit", { ZF_WORKER_UNIT_TEXT_B64: "" }, "missing input ZF_WORKER_UNIT_TEXT_B64"],
    ["text that is not base64", { ZF_WORKER_UNIT_TEXT_B64: "not base64 at all!" }, "ZF_WORKER_UNIT_TEXT_B64 is not base64 of a unit file"],
    ["a unit name with a path", { ZF_WORKER_UNIT: "../../tmp/evil" }, "bad unit name ../../tmp/evil"],
  ])("rejects %s with exit 2 and writes neither unit", async (_what, env, reason) => {
    const res = await h().run("install-units.sh", { env: { ...units(), ...env } });
    expect(res.code).toBe(2);
    expect(res.status).toMatchObject({ status: "fail", reason });
    expect(fs.readdirSync(h().unitDir)).toEqual([]);
    expect(h().calls("systemctl")).toEqual([]);
  });
});
