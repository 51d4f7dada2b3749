// The release layout of a fake host, as deploy.sh leaves it: $ZF_ROOT/releases/<v>/{zombied, zombied-executor,
// VERSION}, the `current` and `previous` links, and the bin links (ZF_BIN_DIR) through `current`. The binaries are
// wrappers over the simulated zombied (standins/zombied-sim) with the release's knobs.
import * as fs from "node:fs";
import * as path from "node:path";
import { Knobs, STANDINS_DIR } from "./fake-systemd";

export interface ReleaseKnobs {
  worker?: Knobs;
  executor?: Knobs;
  doctor?: Knobs;
}

export class ReleaseLayout {
  /** ZF_ROOT, binDir: ZF_BIN_DIR (as /usr/local/bin on a host). */
  constructor(readonly zfRoot: string, readonly binDir: string) {
    for (const d of [zfRoot, binDir]) fs.mkdirSync(d, { recursive: true });
  }

  /** releases/<v>/{zombied, zombied-executor, VERSION}; the knobs apply to every process the release runs. */
  installRelease(version: string, knobs: ReleaseKnobs = {}): string {
    const dir = path.join(this.zfRoot, "releases", version);
    fs.mkdirSync(dir, { recursive: true });
    const wrapper = (k: Knobs, mode: string) =>
      "#!/usr/bin/env bash\n" +
      Object.entries(k).map(([key, v]) => `export ZF_SIM_${key.toUpperCase()}='${String(v).replace(/'/g, "'\\''")}'\n`).join("") +
      `exec '${STANDINS_DIR}/zombied-sim' ${mode}\n`;
    fs.writeFileSync(path.join(dir, "zombied"), wrapper({ ...knobs.worker, ...knobs.doctor }, '"$@"'), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "zombied-executor"), wrapper({ ...knobs.executor }, "executor"), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "VERSION"), `${version}\n`);
    return dir;
  }

  /** Points `current` at releases/<v> and the bin links at current (what deploy.sh leaves behind). */
  setCurrent(version: string): void {
    this.link(path.join(this.zfRoot, "current"), `releases/${version}`);
    for (const bin of ["zombied", "zombied-executor"]) this.link(path.join(this.binDir, bin), path.join(this.zfRoot, "current", bin));
  }

  setPrevious(version: string): void {
    this.link(path.join(this.zfRoot, "previous"), `releases/${version}`);
  }

  /** The release a link (`current` | `previous`) points at, by directory name; undefined when absent. */
  release(link: "current" | "previous" = "current"): string | undefined {
    try {
      return path.basename(fs.readlinkSync(path.join(this.zfRoot, link)));
    } catch {
      return undefined;
    }
  }

  private link(at: string, target: string): void {
    fs.rmSync(at, { force: true });
    fs.symlinkSync(target, at);
  }
}
