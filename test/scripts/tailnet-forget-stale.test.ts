// components/local/tailnet-forget-stale.mjs against a fake Tailscale API on 127.0.0.1: it deletes only offline
// devices holding the hostname, authenticates with the provider's own credentials, and never prints them.
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";

const SCRIPT = path.join(__dirname, "../../components/local/tailnet-forget-stale.mjs");
interface Device { id: string; nodeId: string; hostname: string; connectedToControl: boolean }
let server: http.Server;
let devices: Device[];
let requests: { method: string; url: string; auth?: string }[];

beforeEach(async () => {
  requests = [];
  devices = [
    { id: "1", nodeId: "nOld", hostname: "w1", connectedToControl: false },
    { id: "2", nodeId: "nLive", hostname: "w1", connectedToControl: true },
    { id: "3", nodeId: "nOther", hostname: "w2", connectedToControl: false },
  ];
  server = http.createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
    if (req.method === "POST" && req.url === "/api/v2/oauth/token") {
      res.end(JSON.stringify({ access_token: "oauth-token-XYZ" }));
    } else if (req.method === "GET" && req.url === "/api/v2/tailnet/-/devices") {
      res.end(JSON.stringify({ devices }));
    } else if (req.method === "DELETE" && req.url?.startsWith("/api/v2/device/")) {
      devices = devices.filter((d) => d.nodeId !== req.url!.split("/").pop());
      res.end("{}");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs the script in a child process (asynchronously: the fake API answers from this process). */
function run(env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH!, TAILSCALE_BASE_URL: base, ...env } }, (err, stdout, stderr) => {
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("deletes the offline device that holds the hostname and keeps the connected one", async () => {
  const r = await run({ ZF_TS_HOSTNAME: "w1", TAILSCALE_API_KEY: "tskey-api-SECRET" });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("step=tailnet-forget-stale host=w1 status=ok deleted=1 kept_online=1");
  expect(devices.map((d) => d.nodeId).sort()).toEqual(["nLive", "nOther"]);
  expect(requests.every((q) => q.auth === "Bearer tskey-api-SECRET")).toBe(true);
  expect(r.stdout + r.stderr).not.toContain("SECRET");
});

test("uses an OAuth client when there is no API key", async () => {
  const r = await run({ ZF_TS_HOSTNAME: "w2", TAILSCALE_OAUTH_CLIENT_ID: "id", TAILSCALE_OAUTH_CLIENT_SECRET: "oauth-SECRET" });
  expect(r.status).toBe(0);
  expect(requests[0]).toMatchObject({ method: "POST", url: "/api/v2/oauth/token" });
  expect(requests.slice(1).every((q) => q.auth === "Bearer oauth-token-XYZ")).toBe(true);
  expect(devices.map((d) => d.nodeId)).not.toContain("nOther");
});

test("is a skip, touching nothing, without credentials or stale devices", async () => {
  expect((await run({ ZF_TS_HOSTNAME: "w1" })).stdout).toContain("status=skip");
  expect(requests).toEqual([]);
  const r = await run({ ZF_TS_HOSTNAME: "w9", TAILSCALE_API_KEY: "k" });
  expect(r.stdout).toContain("status=skip deleted=0");
  expect(devices).toHaveLength(3);
});

test("fails with the API's answer when it refuses", async () => {
  server.removeAllListeners("request");
  server.on("request", (_req, res) => res.writeHead(403).end());
  const r = await run({ ZF_TS_HOSTNAME: "w1", TAILSCALE_API_KEY: "k" });
  expect(r.status).toBe(1);
  expect(r.stdout).toMatch(/status=fail reason=.*403/);
});
