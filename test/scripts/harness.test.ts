// The stand-ins themselves: the script tests are only as good as the fake systemd/journald they run against.
import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import { EXECUTOR, parseStatusLines, useHarness, WORKER } from "./harness";

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
    await h().waitFor(() => h().unitState(WORKER).ActiveState === "inactive", 3000, "worker exit");
    await new Promise((r) => setTimeout(r, 600)); // three RestartSec periods
    expect(h().unitState(WORKER)).toMatchObject({ ActiveState: "inactive", NRestarts: 0 });
    expect(h().journalLines(WORKER)).toContain("drain complete, 0 active runs");
  });

  test("the same drained worker is respawned under Restart=always", async () => {
    h().writeUnit(WORKER, { restart: "always" });
    await h().startUnits();
    h().systemctl("kill", "-s", "SIGUSR1", WORKER);
    await h().waitFor(() => h().unitState(WORKER).NRestarts === 1, 3000, "respawn");
    await h().waitFor(() => h().unitState(WORKER).ActiveState === "active", 3000, "active again");
  });

  test("a crashing release crash-loops: activating/auto-restart between attempts", async () => {
    h().installRelease("2.0.0", { worker: { crash: 1 } });
    h().setCurrent("2.0.0");
    h().writeUnit(WORKER, { restart: "always", restartSec: "1" });
    await h().startUnits();
    await h().waitFor(() => h().unitState(WORKER).SubState === "auto-restart", 3000, "auto-restart");
    expect(h().unitState(WORKER).ActiveState).toBe("activating");
    h().systemctl("stop", WORKER);
    expect(h().unitState(WORKER).ActiveState).toBe("inactive");
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
    const follow = h().sh(`(sleep 0.3; printf '%s later\\n' "\${EPOCHREALTIME/./}" >> "$ZF_FAKE/journal/${WORKER}.log") & timeout 1 journalctl -u ${WORKER} -f --no-tail -o cat; true`);
    expect(follow.stdout).toBe("before\nlater\n");
  });
});
