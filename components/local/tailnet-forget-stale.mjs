#!/usr/bin/env node
// Summary: before a (re)installed host joins the tailnet, delete OFFLINE devices that still hold its hostname,
//          so the new node gets `<name>`, not `<name>-1`. Never touches a device that is connected.
// Inputs:  ZF_TS_HOSTNAME; the Tailscale provider's own credentials from the environment: TAILSCALE_API_KEY, or
//          TAILSCALE_OAUTH_CLIENT_ID + TAILSCALE_OAUTH_CLIENT_SECRET; TAILSCALE_TAILNET (default "-");
//          TAILSCALE_BASE_URL (default the public API; tests point it at a local fake).
// Exit codes: 0 ok/skip, 1 API failure, 2 bad input. Credentials are read from the environment, never argv.
const hostname = process.env.ZF_TS_HOSTNAME;
const base = (process.env.TAILSCALE_BASE_URL ?? "https://api.tailscale.com").replace(/\/$/, "");
const tailnet = process.env.TAILSCALE_TAILNET ?? "-";
const status = (s, extra = "") => console.log(`step=tailnet-forget-stale host=${hostname} status=${s}${extra}`);

async function token() {
  if (process.env.TAILSCALE_API_KEY) return process.env.TAILSCALE_API_KEY;
  const id = process.env.TAILSCALE_OAUTH_CLIENT_ID;
  const secret = process.env.TAILSCALE_OAUTH_CLIENT_SECRET;
  if (!id || !secret) return undefined;
  const res = await fetch(`${base}/api/v2/oauth/token`, {
    method: "POST",
    body: new URLSearchParams({ client_id: id, client_secret: secret }),
    signal: AbortSignal.timeout(20_000),
  });
  if (!res.ok) throw new Error(`OAuth token request answered ${res.status}`);
  return (await res.json()).access_token;
}

async function api(bearer, method, path) {
  const res = await fetch(`${base}${path}`, {
    method, headers: { Authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(20_000),
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}`);
  return method === "GET" ? res.json() : undefined;
}

async function main() {
  if (!hostname) { status("fail", ' reason="missing input ZF_TS_HOSTNAME"'); return 2; }
  const bearer = await token();
  if (!bearer) { status("skip", ' reason="no Tailscale API credentials in the environment"'); return 0; }
  const { devices = [] } = await api(bearer, "GET", `/api/v2/tailnet/${encodeURIComponent(tailnet)}/devices`);
  const stale = devices.filter((d) => d.hostname === hostname && d.connectedToControl === false);
  for (const d of stale) await api(bearer, "DELETE", `/api/v2/device/${encodeURIComponent(d.nodeId ?? d.id)}`);
  status(stale.length ? "ok" : "skip", ` deleted=${stale.length} kept_online=${devices.filter((d) => d.hostname === hostname).length - stale.length}`);
  return 0;
}

main().then((code) => process.exit(code), (err) => { status("fail", ` reason=${JSON.stringify(err.message)}`); process.exit(1); });
