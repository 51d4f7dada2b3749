import { describe, expect, test } from "vitest";
import { HostRollout, peakOutOfService } from "../../lab/journal";

const out = (host: string, drainStart: number, workerStarted: number): HostRollout =>
  ({ host, drainStart, workerStarted, drainDone: NaN, executorStopping: NaN, sessions: [] });

describe("peakOutOfService: most hosts out (drain start → worker started) at one instant", () => {
  test.each([
    ["one wave of three side by side", [out("a", 0, 5), out("b", 1, 6), out("c", 2, 4)], 3],
    ["waves one after the other", [out("a", 0, 5), out("b", 8, 12), out("c", 13, 20)], 1],
    ["a host back at the very instant the next goes out was not out with it", [out("a", 0, 5), out("b", 5, 9)], 1],
    ["a late host of wave 1 overlapping wave 2", [out("a", 0, 5), out("b", 0, 9), out("c", 6, 10), out("d", 7, 10)], 3],
    ["no hosts", [], 0],
  ])("%s", (_name, rollouts, expected) => {
    expect(peakOutOfService(rollouts)).toBe(expected);
  });
});
