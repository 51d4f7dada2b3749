// Edits of a lab stack file, the way an operator edits stack config (comments are kept).
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { readStackFile } from "../config/load";

/** How the lab stack names its artifact server; the engine puts in the address picked at boot. */
export const ARTIFACTS_HOST = "http://lab-artifacts";

interface ReleaseJson { worker: { url: string; sha256: string }; executor: { url: string; sha256: string } }

/** Rewrites the release block of a stack file from the lab's `<version>/release.json`. */
export function setRelease(stackFile: string, version: string, labDir: string): void {
  const releaseFile = path.join(labDir, "artifacts", version, "release.json");
  if (!fs.existsSync(releaseFile)) {
    const dir = path.join(labDir, "artifacts");
    const known = fs.existsSync(dir) ? fs.readdirSync(dir).join(", ") : "none (run `npm run lab -- up`)";
    throw new Error(`no lab release ${version} (known: ${known})`);
  }
  const release = JSON.parse(fs.readFileSync(releaseFile, "utf8")) as ReleaseJson;
  const portable = (url: string) => `${ARTIFACTS_HOST}/${version}/${path.basename(url)}`;
  editConfig(stackFile, "release", {
    version,
    worker: { url: portable(release.worker.url), sha256: release.worker.sha256 },
    executor: { url: portable(release.executor.url), sha256: release.executor.sha256 },
  });
}

/** Sets `zombie-fleet:<key>` in a stack file to `value`. */
export function editConfig(stackFile: string, key: string, value: unknown): void {
  const doc = parseDocument(fs.readFileSync(stackFile, "utf8"));
  doc.setIn(["config", `zombie-fleet:${key}`], doc.createNode(value));
  fs.writeFileSync(stackFile, doc.toString());
}

/** Reads `zombie-fleet:<key>` of a stack file (config/load.ts, the one reader). */
export function readConfig(stackFile: string, key: string): unknown {
  return readStackFile(stackFile).written[key];
}
