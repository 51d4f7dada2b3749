// The one sha256 of the program: hex of the UTF-8 bytes of a text (fingerprints, bundle and script hashes, the
// program digest, the plan's secure: digests, tailnet key descriptions). PURE.
import { createHash } from "node:crypto";

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
