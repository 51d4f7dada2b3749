// Whether one .env entry can reach the worker intact. PURE, no imports: the config schema (so `npm run plan` and
// `pulumi up` refuse such a value up front) and the .env renderer (host/env.ts, the last guard) share it.

/**
 * Longest `KEY=value` the kernel passes to a process: MAX_ARG_STRLEN (32 pages = 131072 bytes, with the NUL) in
 * include/uapi/linux/binfmts.h; a longer one makes execve() fail with E2BIG and the worker never starts.
 */
export const MAX_ASSIGNMENT_BYTES = 131072 - 1;

// env_name_is_valid() in systemd's src/basic/env-util.c (bash's rule).
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PEM_ARMOUR = /-----BEGIN [A-Z0-9 ]+-----/;
// A UTF-16 surrogate without its partner: Node would write U+FFFD in its place, so the value would change.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A PEM value with real line breaks, as zombied wants it: one line, each break written as the two characters `\n`. */
export function oneLinePem(value: string): string {
  if (!PEM_ARMOUR.test(value) || !/[\r\n]/.test(value)) return value;
  return value.replace(/\r?\n/g, "\\n");
}

/** Why `key=value` cannot be written to the worker's .env, or undefined when it can. Never quotes the value. */
export function envEntryProblem(key: string, value: string): string | undefined {
  if (!ENV_NAME.test(key)) return "is not a variable name systemd accepts (letters, digits, _; not starting with a digit)";
  const written = oneLinePem(value);
  if (written.includes("\0")) {
    return "contains a NUL character, which no environment variable can hold; remove it";
  }
  if (LONE_SURROGATE.test(written)) {
    return "is not valid Unicode (a lone UTF-16 surrogate); systemd would reject the whole env file";
  }
  const assignment = Buffer.byteLength(`${key}=${written}`, "utf8");
  if (assignment > MAX_ASSIGNMENT_BYTES) {
    return `is too long: KEY=value is ${assignment} bytes, over the ${MAX_ASSIGNMENT_BYTES} a process can be given (execve fails with E2BIG, so the worker would not start)`;
  }
  return undefined;
}
