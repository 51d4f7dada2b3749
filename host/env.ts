// The worker's .env text (installed as /etc/default/zombied-worker, read by the unit's EnvironmentFile=), rendered
// from stack config `env` + `secrets`. PURE and deterministic: keys sorted, one `KEY="value"` line each.
//
// How systemd 252 reads the file (src/basic/env-file.c, parse_env_file_internal(); EnvironmentFile= goes through
// src/core/execute.c exec_context_load_environment() → load_env_file(), which does NOT expand `$`: only
// merge_env_file(), used for environment.d generators, calls replace_env()):
// - a line whose first non-blank character is `#` or `;` is a comment, and a backslash inside a comment escapes
//   the next character, newline included: a comment ending in `\` swallows the next line;
// - `KEY=` then the value: blanks after `=` are skipped; unquoted text ends at the newline with trailing blanks
//   chomped, `\x` gives `x` and `\<newline>` joins lines;
// - inside '…' everything is literal up to the next `'` (no way to write a `'` inside);
// - inside "…" a newline is literal, `\` before one of  " \ ` $  (SHELL_NEED_ESCAPE in src/basic/escape.h) gives
//   that character, `\<newline>` is eaten, and `\` before anything else stays as two characters;
// - quoted and unquoted pieces right after `=` concatenate, as in a shell word;
// - a key or value that is not valid UTF-8 fails the whole file, and with `EnvironmentFile=-…` systemd then
//   starts the worker WITHOUT any of it; an empty value reads back as `KEY=`.
// So every value is written double-quoted with exactly " \ ` $ backslash-escaped: systemd reads back the value
// byte for byte (a POSIX shell reading the file with `.` gets the same value, too). This is what systemd's own
// writer does (write_env_var() in env-file.c), minus its choice to leave some values unquoted.
// test/scripts/env-roundtrip.test.ts proves it against a real systemd 252 service manager.
//
// PEM rule: zombied wants a PEM key (GITHUB_APP_PRIVATE_KEY) on ONE line with literal `\n` escapes
// (facts/zombied.md). A value that contains a PEM armour line (`-----BEGIN …-----`) and real line breaks has every
// line break (LF or CRLF) replaced by the two characters `\n`, trailing one included, so unescaping `\n` gives the
// key back. A PEM value already written with `\n` escapes is left as it is. Other values keep real newlines, which
// systemd reads back inside double quotes.
import { ConfigError } from "../config/load";
import { FleetConfig, OPAQUE_SECRET } from "../config/schema";
import { envEntryProblem, oneLinePem } from "../config/env-value";
import { sha256 } from "./sha256";

export { MAX_ASSIGNMENT_BYTES, oneLinePem } from "../config/env-value";

/** The config the .env text is made of. */
export type EnvInputs = Pick<FleetConfig, "env" | "secrets">;

const HEADER = [
  "# Managed by zombie-fleet (host/env.ts): `pulumi up` rewrites this file. Mode 600, root only.",
  "# Every value is double-quoted; inside the quotes \\ \" ` and $ are backslash-escaped (systemd.exec(5)).",
];
const NEEDS_ESCAPE = /["\\`$]/g;

/**
 * The .env text for a host. Throws ConfigError naming every key whose value cannot be represented (never the
 * value itself).
 */
export function renderEnvFile(config: EnvInputs): string {
  const problems = envValueProblems(config);
  if (problems.length) throw new ConfigError(problems, "stack config (env, secrets)");
  const lines = mergedEntries(config).map(([key, value]) => `${key}="${escapeValue(oneLinePem(value))}"`);
  return `${[...HEADER, ...lines].join("\n")}\n`;
}

/**
 * sha256 (hex) of the rendered .env text. SECRET-DERIVED: a hash of secrets can be brute-forced when a secret is
 * short or guessable, so the program must wrap it with pulumi.secret() before it reaches any input or output.
 */
export function envHash(config: EnvInputs): string {
  return sha256(renderEnvFile(config));
}

/**
 * One line per value that cannot reach the worker intact, as `<config path>: <problem> (got …)`; empty when all
 * can. Exported so config validation can list these with every other config problem.
 */
export function envValueProblems(config: EnvInputs): string[] {
  const problems: string[] = [];
  for (const [section, map] of [["env", config.env], ["secrets", config.secrets]] as const) {
    for (const [key, value] of Object.entries(map)) {
      const problem = envEntryProblem(key, value);
      if (problem) problems.push(`${section}.${key}: ${problem} (got ${describe(section, value)})`);
    }
  }
  for (const key of Object.keys(config.env)) {
    if (Object.hasOwn(config.secrets, key)) problems.push(`env.${key}: is also set in secrets; keep each key in one place (got ${describe("env", config.env[key])})`);
  }
  return problems.sort();
}

function mergedEntries(config: EnvInputs): [string, string][] {
  const entries = [...Object.entries(config.env), ...Object.entries(config.secrets)];
  // Code-unit order, not locale order: the same keys give the same bytes on every machine.
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function escapeValue(value: string): string {
  return value.replace(NEEDS_ESCAPE, (c) => `\\${c}`);
}

function describe(section: "env" | "secrets", value: string): string {
  return section === "secrets" ? OPAQUE_SECRET : `a value of ${value.length} characters`;
}
