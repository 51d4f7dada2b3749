// Builds the command lines that run the remote step scripts on a host. PURE: the one quoting function and the
// one command shape (host-scripts/README.md), used by the program (and so by the lab, which runs it on the real engine).
//
// The scripts travel once, as a bundle the `install-bundle` step installs under /opt/zombie/deploy/; every other
// command is a short call of an installed script. The command text no longer carries the script, so what makes a
// step run again after a script change is the hash of the files it runs (`scriptHash`, in its triggers): a helper
// that a step does not source re-runs nothing of it.
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256 } from "./sha256";
import { CANARY_GATE, ROLLOUT_STEPS, ScriptName } from "./steps";

export const SCRIPTS_DIR = path.join(__dirname, "..", "host-scripts");

/** Where install-bundle.sh points the current bundle on a host (ZF_ROOT is the scripts' default, /opt/zombie). */
export const HOST_SCRIPTS_DIR = "/opt/zombie/deploy/scripts";

export type { ScriptName } from "./steps";

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

/** Single-quotes a word for a POSIX shell: the only quoting function the program uses. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const INPUT_NAME = /^ZF_[A-Z0-9_]+$/;

function assignments(name: string, inputs: ScriptInputs): string[] {
  return Object.keys(inputs).sort().map((key) => {
    if (!INPUT_NAME.test(key)) throw new Error(`script input ${key} for ${name}.sh must be named ZF_*`);
    return `${key}=${shellQuote(String(inputs[key]))}`;
  });
}

/**
 * `[sudo -n] env ZF_A='…' … bash <scripts>/run.sh <name>`: the installed wrapper runs the step and prints its
 * status line before its output. Inputs must never hold a secret: secrets go on stdin (DESIGN.md §5), and this
 * text is stored in Pulumi state and shown in previews and in the provider's error.
 */
export function scriptCommand(
  name: ScriptName, inputs: ScriptInputs, options: { sudo: boolean; scriptsDir?: string },
): string {
  const dir = options.scriptsDir ?? HOST_SCRIPTS_DIR;
  const words = [...(options.sudo ? ["sudo", "-n"] : []), "env", ...assignments(name, inputs), "bash", shellQuote(`${dir}/run.sh`), name];
  return words.join(" ");
}

/** Files a script runs: itself, the wrapper, and every helper it sources (recursively), sorted. */
export function scriptFiles(name: ScriptName): string[] {
  const seen = new Set<string>(["run.sh"]);
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of readScript(file).matchAll(SOURCE_LINE)) visit(match[1]);
  };
  visit(`${name}.sh`);
  return [...seen].sort();
}
/** `. "$(dirname "${BASH_SOURCE[0]}")/lib-x.sh"`: how a script sources a helper beside it. */
const SOURCE_LINE = /^\s*\.\s+"\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)\/([A-Za-z0-9_-]+\.sh)"\s*$/gm;

function filesHash(files: string[]): string {
  return sha256(files.map((f) => `${f}\n${readScript(f)}`).join("\n"));
}

/** sha256 of what one step runs (scriptFiles): in its triggers, so a change to any of them runs it again. */
export function scriptHash(name: ScriptName): string {
  return filesHash(scriptFiles(name));
}

/**
 * sha256 of everything the rollout chain runs. It is in every rollout step's triggers: a changed stop.sh alone
 * would otherwise re-run the stop (and stop a worker nobody drained) and leave it stopped; with it, the whole
 * chain of the host re-runs from its drain.
 */
export function rolloutScriptsHash(): string {
  const files = new Set([...ROLLOUT_STEPS, CANARY_GATE].flatMap((step) => scriptFiles(step)));
  return filesHash([...files].sort());
}

/** The bundle install-bundle.sh reads on stdin: every script but itself, one line each, `name<TAB>base64`. */
export function scriptBundle(): { text: string; hash: string } {
  const files = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh") && f !== "install-bundle.sh").sort();
  const text = files.map((f) => `${f}\t${Buffer.from(readScript(f)).toString("base64")}`).join("\n") + "\n";
  return { text, hash: sha256(text) };
}

/** The install-bundle command: the one script sent as text (comment lines dropped), the bundle's hash its input. */
export function installBundleCommand(host: string, bundleHash: string, options: { sudo: boolean; root?: string }): string {
  const text = readScript("install-bundle.sh").split("\n").filter((line) => !/^\s*#/.test(line)).join("\n");
  const inputs: ScriptInputs = { ZF_HOST: host, ZF_BUNDLE: bundleHash, ...(options.root ? { ZF_ROOT: options.root } : {}) };
  const words = [...(options.sudo ? ["sudo", "-n"] : []), "env", ...assignments("install-bundle", inputs), "bash", "-c", shellQuote(text), "zf-install-bundle"];
  return words.join(" ");
}
