#!/usr/bin/python3
"""Stand-in for the real `zombied` binary on lab hosts: `zombied worker` and `zombied doctor worker`.

Mimics the behaviour the rollout depends on (see /work/shared/facts/zombied.md), nothing more:
startup checks in the real order, claiming runs from the Redis stream, draining on a signal, the doctor's
[OK]/[FAIL] output and exit codes. lab/artifacts.sh bakes VERSION and FAULT into each release artifact.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time

VERSION = "dev"
FAULT = ""  # "" (healthy) | "bad-doctor" | "crashloop" | "failing-runs"

# The real worker refuses to start without these (facts/zombied.md, "Environment").
REQUIRED_ENV = ["DATABASE_URL_WORKER", "REDIS_URL_WORKER", "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY",
                "ENCRYPTION_MASTER_KEY"]
STREAM, GROUP = "run_queue", "workers"
DEFAULT_SOCKET = "/run/zombie/executor.sock"
ENV_FILE = "/etc/default/zombied-worker"
USAGE = "usage: zombied worker | zombied doctor worker [--json]"


def log(level, msg, **fields):
    """Real log shape: one stderr line `ts_ms=… level=… scope=worker msg="…" key=value`; the journal keeps it."""
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    print(f'ts_ms={int(time.time() * 1000)} level={level} scope=worker msg="{msg}"{extra}',
          file=sys.stderr, flush=True)


def say(line):
    """Lines the rollout greps for verbatim (drain progress and completion, env digests)."""
    print(line, file=sys.stderr, flush=True)


def executor_call(path, op, **fields):
    """One request on the executor's unix socket (newline-delimited JSON); raises when nothing answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall((json.dumps({"op": op, **fields}) + "\n").encode())
        return json.loads(sock.makefile().readline())


def as_fields(raw):
    """Stream entry fields as a dict (redis-py parses XAUTOCLAIM replies only sometimes)."""
    return raw if isinstance(raw, dict) else dict(zip(raw[::2], raw[1::2]))


class Worker:
    def __init__(self, env):
        import redis  # Debian's python3-redis; imported here so `doctor` works without Redis
        self.redis = redis.Redis.from_url(env["REDIS_URL_WORKER"], decode_responses=True)
        self.concurrency = int(env.get("WORKER_CONCURRENCY", "2"))
        self.socket_path = env.get("EXECUTOR_SOCKET_PATH", DEFAULT_SOCKET)
        self.run_timeout = int(env.get("RUN_TIMEOUT_MS", "300000")) / 1000
        self.drain_timeout = int(env.get("DRAIN_TIMEOUT_MS", "270000")) / 1000
        self.reclaim_idle_ms = int(env.get("RECLAIM_IDLE_MS", "300000"))
        self.consumer = socket.gethostname()
        self.draining = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0

    def claim(self):
        # Real: `XAUTOCLAIM` (min idle 5 min) takes over runs left pending by a dead consumer, then each worker
        # thread `XREADGROUP … COUNT 1 BLOCK 5000`; 1 s here so a drain stops claiming sooner.
        reclaimed = self.redis.execute_command("XAUTOCLAIM", STREAM, GROUP, self.consumer, self.reclaim_idle_ms,
                                               "0-0", "COUNT", 1)
        entries = [(entry[0], as_fields(entry[1])) for entry in reclaimed[1] if entry]
        if entries:
            log("info", "worker.reclaimed", run=entries[0][1].get("run_id"), idle_ms_over=self.reclaim_idle_ms)
            return [(STREAM, entries)]
        return self.redis.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=1, block=1000)

    def claim_loop(self):
        while not self.draining.is_set():
            try:
                reply = self.claim()
            except Exception as err:  # Redis restarted or unreachable: the real worker retries, so do we
                log("error", "worker.claim_failed", error=repr(str(err)))
                time.sleep(1)
                continue
            for _stream, messages in reply or []:
                for message_id, fields in messages:
                    self.run(message_id, fields)

    def run(self, message_id, fields):
        run_id = fields.get("run_id", message_id)
        with self.lock:
            self.in_flight += 1
        try:
            self.execute(message_id, run_id, int(fields.get("duration_ms", "1000")) / 1000)
        except Exception as err:  # left un-acked: the run stays pending in the group, as with a crash
            log("error", "run.error", run=run_id, error=repr(str(err)))
        finally:
            with self.lock:
                self.in_flight -= 1

    def execute(self, message_id, run_id, seconds):
        executor_call(self.socket_path, "session_start", run=run_id)
        time.sleep(min(seconds, self.run_timeout))  # the "run"; a stuck run ends at RUN_TIMEOUT_MS
        ok = FAULT != "failing-runs" and seconds <= self.run_timeout
        executor_call(self.socket_path, "session_end", run=run_id, ok=ok)
        if not ok:
            log("error", "run.failed", run=run_id, error_code="UZ-RUN-FAILED")
        record = json.dumps({"run": run_id, "host": self.consumer, "version": VERSION, "ok": ok,
                             "finished_ms": int(time.time() * 1000)})
        # Completion and XACK in one transaction: a run is either recorded and acked, or still pending.
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby("run_completions", run_id, 1)
        pipe.rpush("run_log", record)
        pipe.xack(STREAM, GROUP, message_id)
        pipe.execute()
        log("info", "run.completed", run=run_id, ok=str(ok).lower())

    def serve(self):
        threads = [threading.Thread(target=self.claim_loop, daemon=True) for _ in range(self.concurrency)]
        for thread in threads:
            thread.start()
        log("info", "worker.threads_started", concurrency=self.concurrency, consumer=self.consumer)
        while not self.draining.wait(1):
            pass
        return self.finish_drain(threads)

    def finish_drain(self, threads):
        # Drain contract (fleet.md): stop claiming, finish in-flight runs, say so, exit 0.
        say(f"drain start in_flight={self.in_flight}")
        deadline = time.monotonic() + self.drain_timeout
        while any(t.is_alive() for t in threads):
            if time.monotonic() > deadline:  # real: in-flight runs are cancelled at the deadline, exit 0
                say(f"drain timeout in_flight={self.in_flight}")
                return 0
            say(f"drain in_flight={self.in_flight}")
            for thread in threads:
                thread.join(timeout=max(0.0, min(1.0, deadline - time.monotonic())) / len(threads))
        say("drain complete, 0 active runs")
        return 0


def drain_signal(env):
    """SIGUSR1 by default (the doc); DRAIN_SIGNAL=SIGTERM mimics the builds that drain on stop. The other one
    keeps its default action and kills the process mid-run, as in the real builds."""
    name = env.get("DRAIN_SIGNAL", "SIGUSR1").upper()
    return signal.Signals[name if name.startswith("SIG") else "SIG" + name]


def worker(env):
    log("info", "startup.version", version=VERSION)
    for key in sorted(env):  # digests only: a test can prove secrets arrived byte for byte without seeing them
        say(f"env {key} sha256={hashlib.sha256(env[key].encode()).hexdigest()}")
    missing = [key for key in REQUIRED_ENV if not env.get(key)]
    if missing:
        log("error", "startup.env_check", missing=",".join(missing))
        return 1
    socket_path = env.get("EXECUTOR_SOCKET_PATH", DEFAULT_SOCKET)
    try:  # real: connects once, no retry, so the executor must be up first
        executor_call(socket_path, "ping")
    except OSError as err:
        log("error", "startup.executor_connect", socket=socket_path, error=repr(str(err)))
        return 1
    if FAULT == "crashloop":  # real: a binary/schema mismatch exits 1 here, and systemd restarts it
        log("error", "startup.migration_check", error='"schema version mismatch"')
        return 1
    w = Worker(env)
    try:
        w.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except Exception as err:
        if "BUSYGROUP" not in str(err):
            log("error", "startup.redis_connect", error=repr(str(err)))
            return 1
    signal.signal(drain_signal(env), lambda *_: w.draining.set())
    return w.serve()


def env_file_values(path=ENV_FILE):
    """KEY=VALUE lines of the worker's env file (surrounding quotes dropped). Lab assumption: the doctor, run
    by hand or by the verify step over SSH, sees the same settings as the unit, which reads this file."""
    values = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.rstrip("\n"))
                if match:
                    value = match.group(2)
                    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                        value = value[1:-1]
                    values[match.group(1)] = value
    except OSError:
        pass
    return values


def doctor_checks(env):
    checks = []
    missing = [key for key in REQUIRED_ENV if not env.get(key)]
    checks.append(("env", not missing, "missing " + ",".join(missing) if missing else "required variables set"))
    socket_path = env.get("EXECUTOR_SOCKET_PATH", DEFAULT_SOCKET)
    try:
        reply = executor_call(socket_path, "ping")
        checks.append(("executor socket", True, f"{socket_path} answers (executor {reply.get('version')})"))
    except OSError as err:
        checks.append(("executor socket", False, f"{socket_path}: {err}"))
    healthy = FAULT != "bad-doctor"
    checks.append(("executor health", healthy, "ok" if healthy else f"degraded (fault baked into {VERSION})"))
    backend = env.get("SANDBOX_BACKEND", "bubblewrap")
    found = backend != "bubblewrap" or shutil.which("bwrap") is not None
    checks.append(("sandbox backend", found, backend + (" (bwrap found)" if found else ": bwrap not on PATH")))
    return checks


def doctor(args):
    # Real: [OK]/[FAIL] lines or --json {ok, summary, checks[]}; exit 0 pass, 1 fail, 2 usage.
    as_json = "--json" in args
    if [a for a in args if a != "--json"] not in ([], ["worker"]):
        print(USAGE, file=sys.stderr)
        return 2
    checks = doctor_checks({**env_file_values(), **os.environ})
    ok = all(passed for _, passed, _ in checks)
    summary = f"{sum(p for _, p, _ in checks)}/{len(checks)} checks passed"
    if as_json:
        print(json.dumps({"ok": ok, "summary": summary,
                          "checks": [{"name": n, "ok": p, "detail": d} for n, p, d in checks]}))
    else:
        for name, passed, detail in checks:
            print(f"[{'OK' if passed else 'FAIL'}] {name}: {detail}")
        print(summary)
    return 0 if ok else 1


def main(argv):
    if argv[:1] == ["worker"] and len(argv) == 1:
        return worker(dict(os.environ))
    if argv[:1] == ["doctor"]:
        return doctor(argv[1:])
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
