// Full stack-config keys (`zombie-fleet:rollout`, `ovh:endpoint`) → this program's raw config. PURE. Shared by
// both loaders (the stack file for `npm run plan`, the engine's config map for `pulumi up`), so both accept and
// refuse the same keys.
//
// Pulumi's own rule, ParseKey() in pulumi/pulumi sdk/go/common/resource/config/key.go (v3.248.0): a key is
// `<namespace>:<name>` (exactly one `:`), or the legacy `<namespace>:config:<name>`; anything else — no `:` at all,
// or `zombie-fleet:drain:oops` — fails with "could not parse … as a configuration key". `pulumi up` refuses such a
// stack file, so the plan refuses it too instead of guessing what it meant.
import { CONFIG_KEYS } from "./schema";

export const NAMESPACE = "zombie-fleet";

/**
 * Namespaces a stack of this program may hold: ours, the providers it uses, and Pulumi's own (`pulumi:tags`…).
 * Any other one is a typo (`zombie-flet:rollout`) that Pulumi would silently ignore, so it is refused.
 */
export const KNOWN_NAMESPACES = [NAMESPACE, "ovh", "tailscale", "command", "pulumi"] as const;

/** `{ namespace, name }` of a full key, or the reason Pulumi refuses it. */
export function parseConfigKey(key: string): { namespace: string; name: string } | { problem: string } {
  const parts = key.split(":");
  if (parts.length === 2) return { namespace: parts[0], name: parts[1] };
  if (parts.length === 3 && parts[1] === "config" && parts[0] !== "" && parts[2] !== "") {
    return { namespace: parts[0], name: parts[2] };
  }
  return { problem: "is not a config key Pulumi accepts: write <namespace>:<name>, e.g. zombie-fleet:rollout (Pulumi's ParseKey)" };
}

export interface SortedKeys {
  /** Our keys, by short name (`rollout`), with the full key they came from. */
  ours: Map<string, { key: string; value: unknown }>;
  /** One line per refused key, as `<key>: <problem> (got <key>)`; keys are names, never values. */
  problems: string[];
}

/** Sorts full config keys into ours and the problems of the rest. */
export function sortConfigKeys(entries: Iterable<[string, unknown]>): SortedKeys {
  const ours = new Map<string, { key: string; value: unknown }>();
  const problems: string[] = [];
  for (const [key, value] of entries) {
    const parsed = parseConfigKey(key);
    if ("problem" in parsed) {
      problems.push(`${JSON.stringify(key)}: ${parsed.problem} (got ${JSON.stringify(key)})`);
      continue;
    }
    const { namespace, name } = parsed;
    if (namespace !== NAMESPACE) {
      if (!(KNOWN_NAMESPACES as readonly string[]).includes(namespace)) {
        problems.push(`${JSON.stringify(key)}: unknown namespace ${JSON.stringify(namespace)}; this stack's namespaces are ${KNOWN_NAMESPACES.join(", ")} (got ${JSON.stringify(key)})`);
      }
      continue; // provider config such as ovh:endpoint is the provider's to check
    }
    if (!(CONFIG_KEYS as readonly string[]).includes(name)) {
      problems.push(`${name}: unknown config key; known keys are ${CONFIG_KEYS.join(", ")} (got ${key})`);
      continue;
    }
    const earlier = ours.get(name);
    if (earlier) {
      problems.push(`${name}: is set twice, as ${earlier.key} and as ${key}; keep one (got ${key})`);
      continue;
    }
    ours.set(name, { key, value });
  }
  return { ours, problems };
}
