// verify.errorPattern is handed to `grep -E` on the hosts (host-scripts/canary-gate.sh). PURE.
// The plan runs on an operator's laptop, whose grep may be BSD's, so we do not ask the local grep; instead the
// pattern must be in a documented subset of POSIX extended regular expressions (regex(7), "Regular Expression
// Definitions" of POSIX.1-2017 XBD 9.4) whose meaning GNU and BSD grep agree on:
//   - ordinary printable ASCII characters; `\` only before one of  ^ . [ $ ( ) | * + ? { \
//   - `.`, `^`, `$`; groups `( … )`; alternation `|` with no empty side;
//   - one quantifier after an atom: `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}` with m ≤ n ≤ 255 (RE_DUP_MAX);
//   - bracket expressions `[…]`, `[^…]` of characters, ASCII ranges `a-z` and classes like `[:digit:]`
//     (no `\`, `[.`, `[=` inside: those mean different things to different engines, or to the reader).
// test/unit/ere.test.ts checks the subset against the real GNU grep: everything accepted here compiles there, and
// "matches the empty line" below agrees with what grep does.
export const MAX_PATTERN_LENGTH = 1000;

const ESCAPABLE = new Set("^.[$()|*+?{\\");
const CLASSES = new Set(["alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "xdigit"]);
const RE_DUP_MAX = 255;

class Refused extends Error {}

/** Whether the pattern is in the subset, and if so whether it matches the empty string (so every line). */
export function checkErrorPattern(pattern: string): { problem: string } | { matchesEveryLine: boolean } {
  if (pattern.length > MAX_PATTERN_LENGTH) return { problem: `is longer than ${MAX_PATTERN_LENGTH} characters` };
  try {
    const parser = new Parser(pattern);
    const nullable = parser.alternation();
    if (parser.pos < pattern.length) parser.refuse(`has an unmatched ")"`);
    return { matchesEveryLine: nullable };
  } catch (err) {
    if (err instanceof Refused) return { problem: err.message };
    throw err;
  }
}

/** Recursive descent over the subset; each method returns whether what it read can match the empty string. */
class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  refuse(why: string): never {
    throw new Refused(`is not a POSIX extended regex in the subset zombie-fleet accepts: ${why} (at character ${this.pos + 1})`);
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  alternation(): boolean {
    let nullable = this.branch();
    while (this.peek() === "|") {
      this.pos++;
      nullable = this.branch() || nullable;
    }
    return nullable;
  }

  private branch(): boolean {
    const c = this.peek();
    if (c === undefined || c === "|" || c === ")") this.refuse("an empty pattern, alternative or group");
    let nullable = true;
    while (this.pos < this.text.length && this.peek() !== "|" && this.peek() !== ")") {
      nullable = this.piece() && nullable;
    }
    return nullable;
  }

  private piece(): boolean {
    const anchor = this.peek() === "^" || this.peek() === "$";
    let nullable = this.atom();
    const c = this.peek();
    if (anchor && c !== undefined && "*+?{".includes(c)) this.refuse("a quantifier after an anchor ^ or $");
    if (c === "*" || c === "?") {
      this.pos++;
      nullable = true;
    } else if (c === "+") {
      this.pos++;
    } else if (c === "{") {
      nullable = this.interval() === 0 || nullable;
    }
    if (this.peek() !== undefined && "*+?{".includes(this.peek()!)) this.refuse("two quantifiers in a row");
    return nullable;
  }

  /** Reads `{m}`, `{m,}` or `{m,n}`; returns m. */
  private interval(): number {
    const match = /^\{(\d{1,3})(,(\d{1,3})?)?\}/.exec(this.text.slice(this.pos));
    if (!match) this.refuse('a "{" that is not an interval like {2} or {1,3} (write \\{ for the character)');
    const min = Number(match[1]);
    const max = match[2] === undefined ? min : match[3] === undefined ? RE_DUP_MAX : Number(match[3]);
    if (max > RE_DUP_MAX || min > max) this.refuse(`an interval outside 0 ≤ m ≤ n ≤ ${RE_DUP_MAX}`);
    this.pos += match[0].length;
    return min;
  }

  private atom(): boolean {
    const c = this.text[this.pos];
    if (c < " " || c > "~") this.refuse("a control or non-ASCII character");
    if ("*+?{".includes(c)) this.refuse(`a quantifier "${c}" with nothing before it`);
    this.pos++;
    if (c === "^" || c === "$") return true;
    if (c === "(") {
      const nullable = this.alternation();
      if (this.peek() !== ")") this.refuse('an unclosed "("');
      this.pos++;
      return nullable;
    }
    if (c === "[") return this.bracket();
    if (c === "\\") {
      const next = this.peek();
      if (next === undefined || !ESCAPABLE.has(next)) this.refuse("a backslash before a character that is not special (GNU and BSD read \\w, \\b, \\1 differently)");
      this.pos++;
    }
    return false;
  }

  private bracket(): boolean {
    if (this.peek() === "^") this.pos++;
    const start = this.pos;
    let first = true;
    let previous: string | undefined; // the last single character, a possible range start
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.refuse('an unclosed "["');
      if (c === "]" && !first) break;
      if (c < " " || c > "~") this.refuse("a control or non-ASCII character");
      if (c === "\\") this.refuse("a backslash inside [...] (it is a literal backslash in POSIX; write [[:digit:]], not [\\d])");
      if (c === "[" && /[.=]/.test(this.text[this.pos + 1] ?? "")) this.refuse("a collating element [. .] or [= =]");
      if (c === "[" && this.text[this.pos + 1] === ":") {
        const match = /^\[:([a-z]+):\]/.exec(this.text.slice(this.pos));
        if (!match || !CLASSES.has(match[1])) this.refuse("an unknown character class");
        this.pos += match[0].length;
        previous = undefined;
      } else if (c === "-" && previous !== undefined && this.text[this.pos + 1] !== "]") {
        const end = this.text[this.pos + 1];
        if (end === "[" || end === "\\" || end < " " || end > "~") this.refuse("a range that does not end in a plain character");
        if (end < previous) this.refuse(`a range ${previous}-${end} that runs backwards`);
        this.pos += 2;
        previous = undefined;
      } else {
        previous = c;
        this.pos++;
      }
      first = false;
    }
    // GNU grep refuses `[:digit:]` (it means [[:digit:]]): a bracket that starts and ends with `:`.
    if (this.text[start] === ":" && this.text[this.pos - 1] === ":") this.refuse('a class written [:name:]; write [[:name:]]');
    this.pos++;
    return false;
  }
}
