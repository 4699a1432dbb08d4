"""``make bench-streams``: open event streams against ``/current``'s throughput.

Starts what ``make bench`` starts for the service (a fake Auth0 tenant, a redis-server, a
PostgreSQL database it drops afterwards, gunicorn as ``make serve`` runs it) and the events
process as ``make events`` runs it (uvicorn on ``config.asgi``). Measures ``/current`` with wrk
without streams, then with ``BENCH_STREAMS`` (1000) streams open on the events process, then
without again; prints req/s and p99 of each, the ratio (the goal: at least 0.9), the events
process's resident memory per open stream, and how long a logout takes to reach its stream
while all are open. Environment: ``BENCH_SECONDS`` (10), ``BENCH_STREAMS`` (1000),
``BENCH_WORKERS`` (3).
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers  # noqa: E402
from bench.load import wrk, wrk_path  # noqa: E402
from bench.run import first_sight  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
STREAMS = int(os.environ.get("BENCH_STREAMS", "1000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
GOAL = 0.9


class Events:
    """The events process, on the Makefile's uvicorn line."""

    def __init__(self, env: dict):
        self.port = servers.free_port()
        self.process = subprocess.Popen(
            [str(servers.REPO / ".venv/bin/uvicorn"), "config.asgi:application",
             "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
             "--lifespan", "off", "--timeout-graceful-shutdown", "5"],
            cwd=servers.BACKEND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("the events process exited at start-up; run make events")
            try:
                urllib.request.urlopen(  # noqa: S310 (loopback)
                    f"http://127.0.0.1:{self.port}/api/health/live/", timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the events process did not answer within 30 s") from None
                time.sleep(0.1)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def open(self, token: str) -> socket.socket:
        stream = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        stream.sendall(f"GET /api/sessions/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"Authorization: Session {token}\r\n\r\n".encode())
        received = b""
        while b": open" not in received:
            chunk = stream.recv(4096)
            if not chunk:
                raise RuntimeError(f"stream refused: {received[:200]!r}")
            received += chunk
        if b" 200 " not in received.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"stream refused: {received[:200]!r}")
        return stream

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def current(web: servers.Gunicorn, tokens: list[str]):
    return wrk(web.url + "/api/sessions/current/",
               headers=[f"Session {token}" for token in tokens], seconds=SECONDS)


def logout_latency(web: servers.Gunicorn, token: str, stream: socket.socket) -> float:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        web.url + "/api/sessions/current/", method="DELETE",
        headers={"Authorization": f"Session {token}"})
    started = time.perf_counter()
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (loopback)
    received = b""
    while b"session.revoked" not in received:
        chunk = stream.recv(4096)
        if not chunk:
            raise RuntimeError("the stream ended without session.revoked")
        received += chunk
    return time.perf_counter() - started


def main() -> None:
    wrk_path()
    name = f"bench_streams_{os.getpid()}"
    with (servers.fake_auth0() as auth0, servers.redis_server() as redis_server,
          servers.database(name) as dsn):
        env = servers.service_env(database_url=dsn, redis_url=redis_server.url, auth0=auth0)
        servers.migrate(env)
        web = servers.Gunicorn(env, workers=WORKERS)
        events = Events(env)
        opened: list[socket.socket] = []
        try:
            tokens = first_sight(web.url, [
                auth0.token(f"auth0|stream-{n}", email=f"user{n}@example.com", name=f"User {n}")
                for n in range(STREAMS + 5)])
            listened, spare = tokens[:STREAMS], tokens[STREAMS:]
            before = current(web, spare)
            idle_kib = events.rss_kib()
            started = time.monotonic()
            opened = [events.open(token) for token in listened]
            open_seconds = time.monotonic() - started
            time.sleep(1)
            per_stream_kib = (events.rss_kib() - idle_kib) / STREAMS
            during = current(web, spare)
            latencies = [logout_latency(web, listened[n], opened[n]) for n in range(5)]
        finally:
            for stream in opened:
                stream.close()
            events.stop()
        after = current(web, spare)
        web.stop()
    baseline = statistics.mean([before.rps, after.rps])
    ratio = during.rps / baseline
    print(f"""| /current | req/s | p99 ms |
|---|---|---|
| no streams (before) | {before.rps:.0f} | {before.p99_ms:.1f} |
| {STREAMS} streams open | {during.rps:.0f} | {during.p99_ms:.1f} |
| no streams (after) | {after.rps:.0f} | {after.p99_ms:.1f} |

- throughput with {STREAMS} open streams: {ratio:.2f} of without (goal >= {GOAL}):
  {"met" if ratio >= GOAL else "NOT met"}
- events process: {per_stream_kib:.1f} KiB resident per open stream
  ({idle_kib / 1024:.0f} MiB idle), {STREAMS} opened in {open_seconds:.1f} s
- a logout reaches its stream among {STREAMS} in {statistics.median(latencies) * 1000:.0f} ms
  (median of 5; worst {max(latencies) * 1000:.0f} ms)
- machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; wrk -t1 -c16,
  {SECONDS:.0f} s a run; gunicorn {WORKERS} workers""")


if __name__ == "__main__":
    main()
