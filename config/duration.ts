// Durations as operators write them in stack config: "90s", "5m", "1h", "1h30m". PURE.

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };
const DURATION = /^(?:\d+[hms])+$/;

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([hms])/g)) seconds += Number(amount) * UNIT_SECONDS[unit];
  return seconds;
}

/** A number of seconds the way an operator reads it: 45s, 6m, 1h 2m 5s. */
export function formatDuration(seconds: number): string {
  const total = Math.round(seconds); // round first: rounding only the seconds printed 119.6 as "1m 60s"
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [h ? `${h}h` : "", m ? `${m}m` : "", s || (!h && !m) ? `${s}s` : ""].filter(Boolean);
  return parts.join(" ");
}
