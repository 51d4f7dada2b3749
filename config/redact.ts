// Which config values are secret, and keeping them out of every message. PURE.
// A value is secret when it sits under `secrets` or `ssh.privateKey`, under a key that looks secret (anywhere), in
// `env` under a key that `secrets` also sets, in the `ssh` section when that is not a mapping (a key pasted there),
// under a config key the engine marks secret (a decrypted `secure:` value, under `pulumi up`), or when it holds a
// PEM private key. Such a value is shown as [secret]; and every message is scrubbed of every secret value found in
// the config, so a secret pasted at a harmless path is not echoed either.
import { looksSecret } from "./rules";
import { OPAQUE_SECRET } from "./schema";

/** A PEM private key (OpenSSH, PKCS#1/#8, EC): never printed, wherever it was pasted. */
export const PRIVATE_KEY_ARMOUR = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

// A secret at least this long that shows up again at a plain path is refused there (it would be printed by the
// plan); shorter ones ("2", "true") repeat by chance.
const MIN_REPEAT_LENGTH = 8;
// A secret shorter than this is not scrubbed out of message text by substring (a 2-character secret would blank
// out parts of paths); it is still never shown as a value (exact and containment checks below).
const MIN_SCRUB_LENGTH = 4;

type Path = readonly PropertyKey[];
const own = (o: unknown, key: PropertyKey) => typeof o === "object" && o !== null && Object.hasOwn(o, key);

export class Redactor {
  private readonly values: string[];

  /** `secretKeys`: the short config keys (`ssh`, `secrets`) whose whole value the engine holds as a secret. */
  constructor(private readonly raw: Record<string, unknown>, private readonly secretKeys: ReadonlySet<string> = new Set()) {
    const found = new Set<string>();
    walk(raw, [], (path, value) => {
      if (this.isSecretPath(path) || (typeof value === "string" && PRIVATE_KEY_ARMOUR.test(value))) {
        const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
        if (text && text !== OPAQUE_SECRET) found.add(text);
      }
    });
    this.values = [...found].sort((a, b) => b.length - a.length); // longest first: a prefix never splits one
  }

  /** True when a value at `path` must never be printed. */
  isSecretPath(path: Path): boolean {
    const [top, second] = path;
    if (typeof top === "string" && this.secretKeys.has(top)) return true;
    if (top === "secrets" || (top === "ssh" && (second === "privateKey" || !isMapping(this.raw.ssh)))) return true;
    if (top === "env" && typeof second === "string" && own(this.raw.secrets, second)) return true;
    return path.some((part) => typeof part === "string" && looksSecret(part));
  }

  /** The value as shown in a message: JSON, at most 80 characters, or [secret]. */
  show(path: Path, value: unknown): string {
    if (value === undefined) return "nothing";
    if (this.isSecretPath(path) || value === OPAQUE_SECRET || this.holdsSecret(value)) return OPAQUE_SECRET;
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  }

  /** `text` with every secret value of the config (raw or JSON-escaped) replaced by [secret]. */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.values) {
      for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) {
        if (form.length >= MIN_SCRUB_LENGTH) out = out.split(form).join(OPAQUE_SECRET);
      }
    }
    return out;
  }

  /** A PEM private key, or a string containing a secret value of the config long enough not to be chance. */
  repeatsSecret(text: string): boolean {
    return PRIVATE_KEY_ARMOUR.test(text) || this.values.some((s) => s.length >= MIN_REPEAT_LENGTH && text.includes(s));
  }

  private holdsSecret(value: unknown): boolean {
    let found = false;
    walk(value, [], (_path, leaf) => {
      if (typeof leaf === "object" && leaf !== null) return; // its leaves are visited on their own
      const text = String(leaf);
      if (typeof leaf === "string" && PRIVATE_KEY_ARMOUR.test(leaf)) found = true;
      else if (this.values.some((s) => s === text || (s.length >= MIN_SCRUB_LENGTH && text.includes(s)))) found = true;
    });
    return found;
  }
}

function isMapping(v: unknown): boolean {
  return v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v));
}

/** Calls `visit` on every leaf and every node of a JSON-like value (cycles must have been refused before). */
function walk(value: unknown, path: PropertyKey[], visit: (path: Path, value: unknown) => void): void {
  visit(path, value);
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i], visit));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, [...path, k], visit);
}

/**
 * Paths of strings outside secret places that hold a PEM private key or repeat a secret value: the plan would print
 * them, so they are refused; such a value belongs in ssh.privateKey or secrets.
 */
export function misplacedSecrets(raw: Record<string, unknown>, redactor: Redactor): Path[] {
  const out: Path[] = [];
  walk(raw, [], (path, value) => {
    if (typeof value === "string" && !redactor.isSecretPath(path) && redactor.repeatsSecret(value)) out.push(path);
  });
  return out;
}
