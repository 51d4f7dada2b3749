// The stand-ins themselves: the script tests are only as good as the fake systemd/journald they run against.
import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { EXECUTOR, Harness, HUNG_MS, parseStatusLines, useHarness, WORKER } from "./harness";

describe("status line parser", () => {
  test("reads plain and quoted values, ignores other lines", () => {
    const lines = parseStatusLines('progress\nstep=drain host=h1 status=fail reason="did not complete" in_flight=2\n');
    expect(lines).toEqual([{ step: "drain", host: "h1", status: "fail", reason: "did not complete", in_flight: "2" }]);
  });
});

describe("fake systemd", () => {
  const h = useHarness();

  test("start runs the release's worker as a real process and stop ends it", async () => {
    await h().startUnits();
    const s = h().unitState(WORKER);
    expect(s.ActiveState).toBe("active");
    expect(() => process.kill(s.MainPID, 0)).not.toThrow();
    expect(h().systemctl("show", "-p", "ActiveState,NRestarts", "--value", WORKER)).toBe("active\n0\n");
    expect(h().journalLines(WORKER)).toContain("worker.threads_started concurrency=2 in_flight=2");
    h().systemctl("stop", WORKER);
    expect(h().unitState(WORKER)).toMatchObject({ ActiveState: "inactive", MainPID: 0 });
    expect(h().calls("systemctl")).toEqual(["systemctl start zombied-executor", "systemctl start zombied-worker", "systemctl show -p ActiveState,NRestarts --value zombied-worker", "systemctl stop zombied-worker"]);
  });

  test("stopping the executor removes its socket", async () => {
    await h().startUnits();
    h().systemctl("stop", EXECUTOR);
    expect(fs.existsSync(h().socket)).toBe(false);
  });

  test("a worker that exits cleanly on drain is not respawned under Restart=on-failure", async () => {
    await h().startUnits();
    h().systemctl("kill", "-s", "SIGUSR1", "--kill-whom=main", WORKER);
    await h().waitFor(() => h().unitState(WORKER).ActiveState === "inactive", HUNG_MS, "worker exit");
    await new Promise((r) => setTimeout(r, 600)); // three RestartSec periods
    expect(h().unitState(WORKER)).toMatchObject({ ActiveState: "inactive", NRestarts: 0 });
    expect(h().journalLines(WORKER)).toContain("drain complete, 0 active runs");
  });

  test("the same drained worker is respawned under Restart=always", async () => {
    h().writeUnit(WORKER, { restart: "always" });
    await h().startUnits();
    h().systemctl("kill", "-s", "SIGUSR1", WORKER);
    await h().waitFor(() => h().unitState(WORKER).NRestarts === 1, HUNG_MS, "respawn");
    await h().waitFor(() => h().unitState(WORKER).ActiveState === "active", HUNG_MS, "active again");
  });

  test("a crashing release crash-loops: activating/auto-restart between attempts", async () => {
    h().installRelease("2.0.0", { worker: { crash: 1 } });
    h().setCurrent("2.0.0");
    h().writeUnit(WORKER, { restart: "always", restartSec: "1" });
    await h().startUnits();
    await h().waitFor(() => h().unitState(WORKER).SubState === "auto-restart", HUNG_MS, "auto-restart");
    expect(h().unitState(WORKER).ActiveState).toBe("activating");
    h().systemctl("stop", WORKER);
    expect(h().unitState(WORKER).ActiveState).toBe("inactive");
  });

  test("the scripts' clock jumps when a test moves it: a 600 s deadline passes at once", async () => {
    // Without the clock hook in lib.sh (zf_now_ms) this step would wait out its 600 s and the test time out.
    const r = await h().runPastDeadline("start-worker.sh", { env: { ZF_STEP_TIMEOUT: 600 }, deadlineS: 600, seen: "zf_wait_ms" });
    expect(r.code).toBe(3);
    expect(r.durationMs).toBeLessThan(600_000);
  });

  test("the stand-ins read the scripts' clock: what a unit logs after the clock moved is on the moved clock", async () => {
    const hourMs = 3_600_000;
    h().advanceClock(hourMs);
    await h().startUnits();
    const started = h().journal(WORKER).find((e) => e.message.startsWith("worker.threads_started"));
    expect(started?.us).toBeGreaterThan((Date.now() + hourMs - 60_000) * 1000);
    expect(h().unitState(WORKER).ActiveEnterTimestampMonotonic).toBeGreaterThan((Date.now() + hourMs - 60_000) * 1000);
    // A step asks for what was logged since a time it read from its clock (canary-gate.sh --since=@<zf_now>).
    const since = Math.floor((Date.now() + hourMs) / 1000) - 60;
    expect(h().sh(`journalctl -u ${WORKER} --since=@${since} -o cat`).stdout).toContain("worker.threads_started");
    expect(h().log(WORKER, "from the test").us).toBeGreaterThan(started?.us ?? Infinity);
  });

  test("stop gives up on a worker that ignores SIGTERM after TimeoutStopSec and kills it", async () => {
    h().writeUnit(WORKER, { timeoutStopSec: "0.5" });
    h().setKnobs(WORKER, { on_term: "ignore" });
    await h().startUnits();
    h().systemctl("stop", WORKER);
    expect(h().unitState(WORKER).ActiveState).toBe("failed");
    expect(h().journalLines(WORKER)).toContain("zombied-worker.service: State 'stop-sigterm' timed out. Killing.");
  });
});

describe("cleanup", () => {
  test("leaves no process of the test behind and removes its root while a unit's journal pipe is still writing", async () => {
    const h = new Harness();
    // A unit that logs without pause: its journal pipe (a subshell of fake-unit that no stand-in records) has lines
    // queued when cleanup starts, and kept appending to the journal after its unit was killed (ENOTEMPTY).
    h.setKnobs(WORKER, { program: "yes spam" });
    h.systemctl("start", WORKER);
    await h.waitFor(() => h.journal(WORKER).length > 50, HUNG_MS, "the unit's log lines");
    await h.cleanup();
    const marker = `ZF_FAKE=${h.fake}\0`;
    const left = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/environ`, "latin1").includes(marker);
      } catch {
        return false;
      }
    });
    expect(left).toEqual([]);
    expect(fs.existsSync(h.root)).toBe(false);
  });
});

describe("fake journalctl", () => {
  const h = useHarness({ release: false });

  test("a cursor taken with -n 1 excludes that entry and everything before it", () => {
    h().log(WORKER, "old");
    h().log(WORKER, "drain complete, 0 active runs");
    const out = h().sh(`journalctl -u ${WORKER} -n 1 --show-cursor -o cat`).stdout.trim().split("\n");
    expect(out[0]).toBe("drain complete, 0 active runs");
    const cursor = out[1].replace("-- cursor: ", "");
    h().log(WORKER, "new");
    expect(h().sh(`journalctl -u ${WORKER} --after-cursor='${cursor}' -o cat -q`).stdout).toBe("new\n");
  });

  test("no cursor when the unit has no entries", () => {
    expect(h().sh(`journalctl -u ${WORKER} -n 0 --show-cursor -q`).stdout).toBe("");
  });

  test("-f follows new entries as they are appended", async () => {
    h().log(WORKER, "before");
    // "later" is appended only once the follower has printed "before": it can only be seen by following.
    const follow = h().sh([
      `exec 3< <(exec timeout 60 journalctl -u ${WORKER} -f --no-tail -o cat 2>/dev/null)`,
      `IFS= read -r -u 3 first`,
      `printf '%s later\\n' "\${EPOCHREALTIME/./}" >> "$ZF_FAKE/journal/${WORKER}.log"`,
      `IFS= read -r -u 3 second; kill "$!"; printf '%s\\n' "$first" "$second"`,
    ].join("\n"));
    expect(follow.stdout).toBe("before\nlater\n");
  });
});
