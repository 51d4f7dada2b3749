// The lab's artifact server: plain HTTP, GET/HEAD of files under one directory, bound to the bridge address,
// like a release download host. Started and stopped (by recorded PID) by lab/hosts.sh.
// Usage: node lab/serve.mjs ROOT HOST PORT
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const [rootArg, host, port] = process.argv.slice(2);
const root = path.resolve(rootArg);

function resolveFile(urlPath) {
  const file = path.resolve(root, "." + path.posix.normalize(decodeURIComponent(urlPath)));
  return file.startsWith(root + path.sep) ? file : undefined;
}

const server = http.createServer((req, res) => {
  const file = resolveFile(new URL(req.url ?? "/", "http://lab").pathname);
  const stat = file && fs.statSync(file, { throwIfNoEntry: false });
  const ok = (req.method === "GET" || req.method === "HEAD") && stat?.isFile();
  console.log(`${new Date().toISOString()} ${req.socket.remoteAddress} ${req.method} ${req.url} ${ok ? 200 : 404}`);
  if (!ok) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": stat.size });
  if (req.method === "HEAD") res.end();
  else fs.createReadStream(file).pipe(res);
});

server.listen(Number(port), host, () => console.log(`serving ${root} on http://${host}:${port}`));
process.on("SIGTERM", () => process.exit(0));
