// Builds the command line that runs one remote step script on a host. PURE: the one quoting function and the
// one command shape (components/scripts/README.md), shared by the program and the lab engine.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROLLOUT_STEPS } from "./plan";

export const SCRIPTS_DIR = path.join(__dirname, "scripts");

/** The remote step scripts, by file name without `.sh`. */
export const SCRIPT_NAMES = [
  "layout", "write-env", "install-units", "tailscale-join",
  "drain", "stop", "deploy", "restart-executor", "start-worker", "verify", "canary-gate", "decommission",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export type ScriptInputs = Record<string, string | number | boolean>;

const textCache = new Map<string, string>();
function readScript(file: string): string {
  let text = textCache.get(file);
  if (text === undefined) {
    text = fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");
    textCache.set(file, text);
  }
  return text;
}

/** lib.sh followed by the step script: what `bash -c` runs (the script's own `source lib.sh` guard then skips). */
export function scriptText(name: ScriptName): string {
  return `${readScript("lib.sh")}\n${readScript(`${name}.sh`)}`;
}

/** Single-quotes a word for a POSIX shell: the only quoting function the program uses. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const INPUT_NAME = /^ZF_[A-Z0-9_]+$/;

/**
 * `[sudo -n] env ZF_A='…' … bash -c '<lib.sh + script>' zf-<name>`. Inputs must never hold a secret: secrets go
 * on stdin (DESIGN.md §5), and this text is stored in Pulumi state and shown in previews.
 */
export function scriptCommand(name: ScriptName, inputs: ScriptInputs, options: { sudo: boolean }): string {
  const assignments = Object.keys(inputs).sort().map((key) => {
    if (!INPUT_NAME.test(key)) throw new Error(`script input ${key} for ${name}.sh must be named ZF_*`);
    return `${key}=${shellQuote(String(inputs[key]))}`;
  });
  const words = [...(options.sudo ? ["sudo", "-n"] : []), "env", ...assignments, "bash", "-c", shellQuote(scriptText(name)), `zf-${name}`];
  return words.join(" ");
}

/**
 * sha256 of lib.sh and every rollout step script. It is in every rollout step's triggers: a changed drain.sh
 * alone would otherwise re-run the drain (an update) and nothing after it, leaving the worker stopped.
 */
export function rolloutScriptsHash(): string {
  const files = ["lib.sh", ...[...ROLLOUT_STEPS, "canary-gate"].map((step) => `${step}.sh`)];
  return sha256(files.map((f) => `${f}\n${readScript(f)}`).join("\n"));
}

/** The deploy bundle `layout.sh` reads on stdin: every script, one line each, `name<TAB>base64(content)`. */
export function deployBundle(): string {
  const files = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh")).sort();
  return files.map((f) => `${f}\t${Buffer.from(readScript(f)).toString("base64")}`).join("\n") + "\n";
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
