// A tiny HTTP server on 127.0.0.1 for the script tests (artifact downloads, Prometheus text), started by a test
// and closed by it, plus a builder of release artifacts (.tar.gz with one binary at the top level).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

export interface Served {
  status?: number;
  body?: string | Buffer;
  /** Never answer (the client must give up on its own). */
  hang?: boolean;
}

export interface LocalServer {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `handle(path, n)` (n = 0-based index of the request) until closed. */
export async function startServer(handle: (urlPath: string, n: number) => Served): Promise<LocalServer> {
  const requests: string[] = [];
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const urlPath = req.url ?? "/";
    const served = handle(urlPath, requests.length);
    requests.push(urlPath);
    if (served.hang) {
      hung.push(res);
      return;
    }
    res.writeHead(served.status ?? 200, { "content-type": "text/plain" });
    res.end(served.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Artifact {
  file: string;
  sha256: string;
  /** The binary's content inside the tarball. */
  content: string;
}

/**
 * Writes `<dir>/<name>-<version>.tar.gz` holding `binary` at its top level (as `./binary` when dotSlash). The binary
 * is a script that leaves `<dir>/ran-<binary>` behind if anything ever runs it (deploy.sh must not).
 */
export function makeArtifact(dir: string, binary: string, version: string, opts: { dotSlash?: boolean } = {}): Artifact {
  const work = fs.mkdtempSync(path.join(dir, `${binary}-`));
  const content = `#!/bin/sh\n# ${binary} ${version}\ntouch '${path.join(dir, `ran-${binary}`)}'\n`;
  fs.writeFileSync(path.join(work, binary), content, { mode: 0o755 });
  const file = path.join(dir, `${binary}-${version}.tar.gz`);
  execFileSync("tar", ["-czf", file, "-C", work, opts.dotSlash ? `./${binary}` : binary]);
  fs.rmSync(work, { recursive: true, force: true });
  return { file, sha256: sha256File(file), content };
}

export function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
