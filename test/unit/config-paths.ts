// Config paths as the guide writes them (`workers[6].ovh.serviceName`, `secrets.*`): where they lead in the schema,
// and `pulumi config set --path` on raw config.
import { fleetSchema } from "../../config/schema";
import { Raw } from "./fleet-fixture";

type Zod = { _zod: { def: Raw } };
const PATH_TOKEN = /([A-Za-z_][A-Za-z0-9_-]*|\*)|\[(\d+)\]|\["([^"]+)"\]/g;

function pathParts(configPath: string): (string | number)[] {
  return [...configPath.matchAll(PATH_TOKEN)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1] ?? m[3]));
}

/** The schema node at a config path (`workers[6].ovh.serviceName`), or undefined when the path does not exist. */
export function schemaAt(configPath: string): Zod | undefined {
  let node: Zod | undefined = fleetSchema as unknown as Zod;
  for (const part of pathParts(configPath)) {
    node = node && step(unwrap(node), part);
  }
  return node;
}

function unwrap(node: Zod): Zod {
  const def = node._zod.def;
  if (["default", "prefault", "optional", "nullable"].includes(def.type)) return unwrap(def.innerType);
  if (def.type === "pipe") return unwrap(def.in);
  return node;
}

function step(node: Zod, part: string | number): Zod | undefined {
  const def = node._zod.def;
  if (def.type === "object") return typeof part === "string" ? def.shape[part] : undefined;
  if (def.type === "array") return typeof part === "number" ? def.element : undefined;
  if (def.type === "record") return typeof part === "string" ? def.valueType : undefined;
  return undefined;
}

/** `pulumi config set --path` on raw config: creates what is missing, "true"/"false" and integers typed. */
export function setPath(raw: Raw, configPath: string, value: unknown): void {
  const parts = pathParts(configPath);
  let node: Raw = raw;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) node[part] = value;
    else node = node[part] ??= typeof parts[i + 1] === "number" ? [] : {};
  });
}
