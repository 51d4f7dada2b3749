#!/usr/bin/python3
"""Stand-in for the real `zombied-executor` on lab hosts.

Mimics (see /work/shared/facts/zombied.md): the unix socket at EXECUTOR_SOCKET_PATH that the worker connects to
at startup and tells about each run's session; the canary counters. The real counters are served by the API as
`zombie_executor_<name>`; the lab serves them per host on :9100/metrics so a canary gate can read
`http://{host}:9100/metrics`. Counters live in memory: they restart from 0 with the executor, like a process's.
lab/artifacts.sh bakes VERSION (and FAULT, unused here) into each release artifact.
"""
import json
import os
import signal
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "dev"
FAULT = ""

COUNTERS = {"sessions_created_total": 0, "failures_total": 0, "oom_kills_total": 0, "landlock_denials_total": 0}
LOCK = threading.Lock()


def log(level, msg, **fields):
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    print(f'ts_ms={int(time.time() * 1000)} level={level} scope=executor msg="{msg}"{extra}',
          file=sys.stderr, flush=True)


def handle_request(request):
    op = request.get("op")
    with LOCK:
        if op == "session_start":
            COUNTERS["sessions_created_total"] += 1
        elif op == "session_end" and not request.get("ok", True):
            COUNTERS["failures_total"] += 1
        elif op != "ping" and op != "session_end":
            return {"ok": False, "error": f"unknown op {op!r}"}
    return {"ok": True, "version": VERSION}


class SocketHandler(socketserver.StreamRequestHandler):
    """Newline-delimited JSON requests on the executor socket, one reply line each."""

    def handle(self):
        for line in self.rfile:
            try:
                reply = handle_request(json.loads(line))
            except ValueError as err:
                reply = {"ok": False, "error": str(err)}
            self.wfile.write((json.dumps(reply) + "\n").encode())


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        with LOCK:
            body = "".join(f"# TYPE {name} counter\n{name} {value}\n" for name, value in COUNTERS.items())
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):  # scrapes would flood the journal
        pass


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve_socket(path):
    # Real: a second executor steals the socket (facts/zombied.md), so a stale file is simply replaced.
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    server = UnixServer(path, SocketHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv):
    if argv:
        print("usage: zombied-executor (no arguments; configured by EXECUTOR_* variables)", file=sys.stderr)
        return 2
    path = os.environ.get("EXECUTOR_SOCKET_PATH", "/run/zombie/executor.sock")
    port = int(os.environ.get("EXECUTOR_METRICS_PORT", "9100"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    serve_socket(path)
    metrics = ThreadingHTTPServer(("0.0.0.0", port), MetricsHandler)
    metrics.daemon_threads = True
    threading.Thread(target=metrics.serve_forever, daemon=True).start()
    log("info", "executor.started", version=VERSION, socket=path, metrics_port=port)
    while not stop.wait(1):
        pass
    log("info", "executor.stopping")
    if os.path.exists(path):
        os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
