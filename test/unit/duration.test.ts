import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { formatDuration, parseDuration } from "../../config/duration";

describe("parseDuration", () => {
  test.each<[string, number]>([
    ["0s", 0],
    ["45s", 45],
    ["90s", 90],
    ["5m", 300],
    ["1h", 3600],
    ["1h30m", 5400],
    ["2h3m4s", 7384],
    ["120m", 7200],
  ])("reads %s as %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each(["", "5", "-5m", "5 m", "1.5h", "5min", "m", "1d", "5M", " 5m", "5m "])(
    "rejects %j",
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe("formatDuration", () => {
  test.each<[number, string]>([
    [0, "0s"],
    [45, "45s"],
    [60, "1m"],
    [360, "6m"],
    [3600, "1h"],
    [3725, "1h 2m 5s"],
    [6720, "1h 52m"],
    [119.6, "2m"], // rounded as a whole: never "1m 60s"
    [59.4, "59s"],
  ])("prints %d seconds as %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  test("what it prints reads back as the same number of seconds (spaces removed)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 24 * 3600 }), (seconds) => {
        expect(parseDuration(formatDuration(seconds).replace(/ /g, ""))).toBe(seconds);
      }),
    );
  });
});
