// lab/load.ts's steady load, against a stand-in redis-cli that records each command (no Redis needed).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { enqueueSteady } from "../../lab/load";

const target = { host: "127.0.0.1", port: 1 };
let dir = "";
const xadds = () => fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter((l) => l.includes(" XADD ")).length;

describe("enqueueSteady", () => {
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "zf-load-"));
    fs.writeFileSync(path.join(dir, "calls"), "");
    fs.writeFileSync(path.join(dir, "redis-cli"), `#!/usr/bin/env bash\necho "$*" >> '${dir}/calls'\necho '"OK"'\n`, { mode: 0o755 });
    vi.stubEnv("PATH", `${dir}:${process.env.PATH}`);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("enqueues seconds × rate runs, then stops", async () => {
    const ids = await enqueueSteady(target, { seconds: 0.2, rate: 20, minMs: 1, maxMs: 2, prefix: "t" });
    expect(ids).toEqual(["t-1", "t-2", "t-3", "t-4"]);
    expect(xadds()).toBe(4);
  });

  test("with `until` it keeps the rate past `seconds` until the signal aborts (the load outlasts a slow canary gate)", async () => {
    const stop = new AbortController();
    const load = enqueueSteady(target, { seconds: 0.2, rate: 20, minMs: 1, maxMs: 2, prefix: "t", until: stop.signal });
    // Only a load that goes on past its 4 runs gets here.
    await vi.waitFor(() => expect(xadds()).toBeGreaterThanOrEqual(8), { timeout: 60_000, interval: 20 });
    stop.abort();
    const ids = await load;
    expect(ids.length).toBeGreaterThanOrEqual(8);
    expect(xadds()).toBe(ids.length); // stopped: nothing enqueued after it returned
  });
});
