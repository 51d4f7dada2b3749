// Smoke test of the lab itself (lab/hosts.sh): real systemd hosts reached over real SSH with the pinned host
// key, the stand-in zombied installed by hand the way the rollout will, runs through the real Redis queue, a
// drain on SIGUSR1, and a teardown that leaves nothing behind. Needs root (nspawn, netns, mounts).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hostsSh, LAB_DIR, LabHost, LabHosts, labSsh, readLabHosts, readLabRelease, run } from "../../lab/hosts";
import { check, enqueueRun, RedisTarget, reset, waitForClean } from "../../lab/load";

const started = Date.now();
let lab: LabHosts;
let redis: RedisTarget;

// Simple units for now (the program renders the real ones): paths and env as in host-scripts/README.md.
const EXECUTOR_UNIT = `[Unit]
Description=zombied executor (lab smoke test)
After=network.target
Before=zombied-worker.service
[Service]
ExecStart=/opt/zombie/current/zombied-executor
Environment=EXECUTOR_SOCKET_PATH=/run/zombie/executor.sock
RuntimeDirectory=zombie
Restart=always
RestartSec=2
[Install]
WantedBy=multi-user.target
`;
const WORKER_UNIT = `[Unit]
Description=zombied worker (lab smoke test)
Requires=zombied-executor.service
After=zombied-executor.service
[Service]
ExecStart=/opt/zombie/current/zombied worker
EnvironmentFile=-/etc/default/zombied-worker
KillMode=mixed
TimeoutStopSec=300
Restart=on-failure
RestartSec=5
[Install]
WantedBy=multi-user.target
`;

// Download, verify, unpack into releases/<v>, switch `current`, units, start executor then (socket first, as the
// real worker connects once) the worker. Args: VERSION WORKER_URL WORKER_SHA EXECUTOR_URL EXECUTOR_SHA.
const INSTALL = `set -euo pipefail
v=$1 dir=/opt/zombie/releases/$1 tmp=$(mktemp -d)
curl -fsS -o "$tmp/w.tgz" "$2" && echo "$3  $tmp/w.tgz" | sha256sum -c --quiet -
curl -fsS -o "$tmp/e.tgz" "$4" && echo "$5  $tmp/e.tgz" | sha256sum -c --quiet -
mkdir -p "$dir" && tar -xzf "$tmp/w.tgz" -C "$dir" && tar -xzf "$tmp/e.tgz" -C "$dir" && echo "$v" >"$dir/VERSION"
ln -sfn "$dir" /opt/zombie/current.tmp && mv -T /opt/zombie/current.tmp /opt/zombie/current
printf '%s' "$EXECUTOR_UNIT_TEXT" >/etc/systemd/system/zombied-executor.service
printf '%s' "$WORKER_UNIT_TEXT" >/etc/systemd/system/zombied-worker.service
systemctl daemon-reload
systemctl restart zombied-executor
for _ in $(seq 100); do [[ -S /run/zombie/executor.sock ]] && break; sleep 0.1; done
systemctl restart zombied-worker
for _ in $(seq 100); do [[ $(systemctl is-active zombied-worker) == active ]] && break; sleep 0.1; done
systemctl is-active zombied-executor zombied-worker
`;

// Secrets with quotes, $, spaces and a one-line PEM with literal \\n, written in systemd EnvironmentFile= syntax
// (single quotes are literal; in double quotes \\$ \\" \\\\ are the escapes).
const SECRETS: Record<string, { value: string; line: string }> = {
  DATABASE_URL_WORKER: {
    value: `postgres://zombie:p@ss w"rd$1@10.0.0.5/zombie?opt="a b"`,
    line: `'postgres://zombie:p@ss w"rd$1@10.0.0.5/zombie?opt="a b"'`,
  },
  GITHUB_APP_PRIVATE_KEY: {
    value: "-----BEGIN RSA PRIVATE KEY-----\\nMIIEow$IBAAK+CAQEA/x y\\n-----END RSA PRIVATE KEY-----",
    line: "'-----BEGIN RSA PRIVATE KEY-----\\nMIIEow$IBAAK+CAQEA/x y\\n-----END RSA PRIVATE KEY-----'",
  },
  ENCRYPTION_MASTER_KEY: { value: "ab".repeat(32), line: "ab".repeat(32) },
  GITHUB_APP_ID: { value: `it's $HOME and "quoted"`, line: `"it's \\$HOME and \\"quoted\\""` },
};

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

async function onHost(host: LabHost, command: string, stdin?: string): Promise<string> {
  const result = await labSsh(lab, host, command, { stdin });
  if (result.code !== 0) throw new Error(`${host.name}: \`${command}\` exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function envFile(): string {
  const lines = Object.entries(SECRETS).map(([key, { line }]) => `${key}=${line}`);
  return [`REDIS_URL_WORKER=${lab.redis.url}`, "WORKER_CONCURRENCY=2", ...lines, ""].join("\n");
}

async function install(host: LabHost, version: string): Promise<string> {
  const r = readLabRelease(version, lab);
  await onHost(host, "umask 077 && cat >/etc/default/zombied-worker", envFile());
  const env = `EXECUTOR_UNIT_TEXT=${shellQuote(EXECUTOR_UNIT)} WORKER_UNIT_TEXT=${shellQuote(WORKER_UNIT)}`;
  const args = [version, r.worker.url, r.worker.sha256, r.executor.url, r.executor.sha256].map(shellQuote).join(" ");
  return onHost(host, `${env} bash -s -- ${args}`, INSTALL);
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

async function journalCursor(host: LabHost): Promise<string> {
  const out = await onHost(host, "journalctl -u zombied-worker -n 0 --show-cursor --no-pager");
  return /-- cursor: (\S+)/.exec(out)?.[1] ?? "";
}

async function waitForJournalLine(host: LabHost, cursor: string, line: string, seconds: number): Promise<string> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const out = await onHost(host, `journalctl -u zombied-worker --after-cursor=${shellQuote(cursor)} -o cat --no-pager`);
    if (out.split("\n").includes(line) || Date.now() > deadline) return out;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What `up` created, read before `down` so the teardown test knows what to look for. */
function labFootprint(): { pids: number[]; netnsPrefix: string; bridge: string; cgroup: string } {
  const hostsDir = path.join(LAB_DIR, "hosts");
  const pidFiles = [
    ...readdirSync(hostsDir).map((h) => path.join(hostsDir, h, "pid")),
    path.join(LAB_DIR, "redis.pid"), path.join(LAB_DIR, "http.pid"),
  ];
  return {
    pids: pidFiles.map((f) => Number(readFileSync(f, "utf8").trim())),
    netnsPrefix: `${lab.bridge.name}-`, bridge: lab.bridge.name,
    cgroup: lab.bridge.name.replace(/^zlab-/, "zombie-lab-"),
  };
}

/** Alive and not a zombie (an exited child waits for its reaper, PID 1 here). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("lab hosts (lab/hosts.sh up 2)", () => {
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("the lab needs root: systemd-nspawn, ip netns, mount");
    const up = await hostsSh(["up", "2"]);
    expect(up.code, up.stderr).toBe(0);
    lab = readLabHosts();
    redis = { host: lab.redis.host, port: lab.redis.port };
    await reset(redis);
  });

  afterAll(async () => {
    await hostsSh(["down"]);
    const boot = lab?.hosts.map((h) => `${h.name} sshd ${h.bootMs} ms / running ${h.runningMs} ms`).join(", ");
    console.log(`lab smoke test: ${((Date.now() - started) / 1000).toFixed(1)} s wall; boot: ${boot}`);
  });

  test("every host runs systemd as PID 1 to `running` and answers SSH with the pinned host key", async () => {
    expect(lab.hosts.map((h) => h.name)).toEqual(["lab-worker-1", "lab-worker-2"]);
    for (const host of lab.hosts) {
      expect(host.hostKey).toBe(lab.hostKey);
      expect(await onHost(host, "systemctl is-system-running; cat /proc/1/comm; hostname")).toBe(
        `running\nsystemd\n${host.name}\n`,
      );
    }
  });

  test("installs v1 by hand from the artifact server, checksums verified, both units active", async () => {
    for (const host of lab.hosts) {
      expect(await install(host, "v1")).toBe("active\nactive\n");
      expect(await onHost(host, "readlink /opt/zombie/current && /opt/zombie/current/zombied doctor worker")).toMatch(
        /^\/opt\/zombie\/releases\/v1\n(\[OK\] .*\n){4}4\/4 checks passed\n$/,
      );
    }
  });

  test("secrets with quotes, $, spaces and PEM \\n reach the worker byte for byte", async () => {
    for (const host of lab.hosts) {
      const journal = await onHost(host, "journalctl -u zombied-worker -o cat --no-pager");
      for (const [key, { value }] of Object.entries(SECRETS)) {
        expect(journal, `${host.name} ${key}`).toContain(`env ${key} sha256=${sha256(value)}`);
      }
      expect(journal).not.toContain("MIIEow");
    }
  });

  test("five queued runs complete exactly once", async () => {
    for (let i = 1; i <= 5; i++) await enqueueRun(redis, `smoke-${i}`, 1000 + 250 * i);
    const report = await waitForClean(redis, 30);
    expect(report).toMatchObject({ enqueued: 5, completedOnce: 5, completedMoreThanOnce: 0, pending: 0, neverClaimed: 0 });
    expect(report.byVersion).toEqual({ v1: 5 });
  });

  test("SIGUSR1 drains: in-flight runs finish, the journal says `drain complete, 0 active runs`, exit 0", async () => {
    for (let i = 1; i <= 4; i++) await enqueueRun(redis, `drain-${i}`, 3000);
    const claimDeadline = Date.now() + 5000;
    while ((await check(redis)).pending < 4 && Date.now() < claimDeadline) await new Promise((r) => setTimeout(r, 100));
    const cursors = await Promise.all(lab.hosts.map(journalCursor));
    await Promise.all(lab.hosts.map((h) => onHost(h, "systemctl kill -s SIGUSR1 zombied-worker")));
    for (const [i, host] of lab.hosts.entries()) {
      const journal = await waitForJournalLine(host, cursors[i], "drain complete, 0 active runs", 30);
      expect(journal).toMatch(/^drain start in_flight=[12]$/m);
      expect(journal.split("\n")).toContain("drain complete, 0 active runs");
    }
    expect(await waitForClean(redis, 10)).toMatchObject({ enqueued: 9, completedOnce: 9, pending: 0 });
    for (const host of lab.hosts) {
      await new Promise((r) => setTimeout(r, 500));
      const show = await onHost(host, "systemctl show -p ActiveState -p Result -p ExecMainStatus zombied-worker");
      expect(Object.fromEntries(show.trim().split("\n").map((l) => l.split("=", 2)))).toEqual({
        ActiveState: "inactive", Result: "success", ExecMainStatus: "0",
      });
    }
  });

  test("down leaves no nspawn process, netns, bridge, mount or cgroup behind", async () => {
    const footprint = labFootprint();
    expect(footprint.pids.every(alive)).toBe(true);
    const down = await hostsSh(["down"]);
    expect(down.code, down.stderr).toBe(0);
    expect(footprint.pids.filter(alive)).toEqual([]);
    expect((await run("ip", ["netns", "list"])).stdout).not.toContain(footprint.netnsPrefix);
    expect((await run("ip", ["link", "show", footprint.bridge])).code).not.toBe(0);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(path.join(LAB_DIR, "hosts"));
    for (const root of ["/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup"]) {
      expect(existsSync(path.join(root, footprint.cgroup))).toBe(false);
    }
    expect(existsSync(path.join(LAB_DIR, "hosts.json"))).toBe(false);
  });
});
