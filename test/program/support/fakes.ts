// Stand-ins for cloud APIs the program reads under mocks (the lab and program tests have no Tailscale).

/** What a fake Tailscale API answers for getDevice: a stable address per hostname. */
export function fakeDevice(hostname: string) {
  const n = [...hostname].reduce((sum, c) => (sum * 31 + c.charCodeAt(0)) % 250, 7) + 1;
  return { id: `dev-${hostname}`, nodeId: `n${hostname}`, hostname, name: `${hostname}.tailnet.ts.net`, addresses: [`100.64.0.${n}`, `fd7a:115c:a1e0::${n}`] };
}

