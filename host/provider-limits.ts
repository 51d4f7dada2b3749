// What the providers refuse, and the provider inputs the program derives from config that must stay within it.
// PURE. Each limit cites where the provider enforces it; test/program/provider-limits.test.ts checks every input
// the program builds against these, for the prod stack and for the longest names config allows.
import { sha256 } from "./sha256";

/**
 * tailscale:index/tailnetKey:TailnetKey `description`: `stringvalidator.LengthAtMost(50)` and documented as
 * "consisting of alphanumeric characters" (terraform-provider-tailscale v0.29.1, tailscale/resource_tailnet_key.go,
 * the `description` attribute). Spaces are kept: the provider's own example is "Sample key".
 */
export const TAILNET_KEY_DESCRIPTION = { maxLength: 50, pattern: /^[A-Za-z0-9 ]*$/ };

/** Hex digits of the identity hash in a key description: 48 bits, collisions are not a concern for one tailnet. */
const IDENTITY_HASH_CHARS = 12;

/**
 * The description of a worker's single-use tailnet key: `zf <worker, letters and digits only> <hash>`, where the
 * hash is sha256("<worker>\n<host identity>") cut to 12 hex digits. A reinstalled host (new identity) gets a new
 * description, hence a new key; whose key it is stays recoverable by recomputing the hash from the stack.
 */
export function tailnetKeyDescription(worker: string, identity: string): string {
  const hash = sha256(`${worker}\n${identity}`).slice(0, IDENTITY_HASH_CHARS);
  const room = TAILNET_KEY_DESCRIPTION.maxLength - "zf ".length - 1 - IDENTITY_HASH_CHARS;
  return `zf ${worker.replace(/[^A-Za-z0-9]/g, "").slice(0, room)} ${hash}`;
}
