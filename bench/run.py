"""``make bench``: the service against the framework's limit, on servers of its own.

Starts a fake Auth0 tenant (JWKS over HTTP), a redis-server, a PostgreSQL database (created
and dropped) and gunicorn with the production settings (``make serve``'s command line, 3 sync
workers), then measures with wrk (-t1 -c16) three interleaved rounds of every endpoint and
prints medians as a markdown table. Environment: ``BENCH_SECONDS`` (10) per run,
``BENCH_ROUNDS`` (3), ``BENCH_USERS`` (1000), ``BENCH_MEMORY_SESSIONS`` (100000).
"""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers  # noqa: E402
from bench.load import wrk, wrk_path  # noqa: E402
from bench.report import BARE, CURRENT, Measured, table  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
USERS = int(os.environ.get("BENCH_USERS", "1000"))
MEMORY_SESSIONS = int(os.environ.get("BENCH_MEMORY_SESSIONS", "100000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "sync")
THREADS = int(os.environ.get("BENCH_THREADS", "1"))


def post(url: str, headers: dict) -> dict:
    request = urllib.request.Request(url, data=b"", method="POST",  # noqa: S310 (loopback)
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def first_sight(base: str, access_tokens: list[str]) -> list[str]:
    """Provision every user once (first create); returns their session tokens."""
    def create(access_token):
        return post(f"{base}/api/sessions/create/",
                    {"Authorization": f"Bearer {access_token}"})["token"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(create, access_tokens))


def redis_cpu_seconds(client) -> float:
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measured_wrk(web: servers.Gunicorn, redis_client, path: str, **options):
    """A wrk run, with the CPU the web workers and Redis spent per request."""
    web_before, redis_before = web.cpu_seconds(), redis_cpu_seconds(redis_client)
    result = wrk(web.url + path, **options)
    requests = max(result.requests, 1)
    result.web_cpu_us = (web.cpu_seconds() - web_before) * 1e6 / requests
    result.redis_cpu_us = (redis_cpu_seconds(redis_client) - redis_before) * 1e6 / requests
    return result


def sessions_table_writes(dsn: str) -> int:
    """INSERT/UPDATE/DELETE counted by PostgreSQL on the session tables, once every other
    connection to the database has ended (a backend flushes its figures when it exits)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        others = ("FROM pg_stat_activity WHERE datname = current_database() "
                  "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
        conn.execute(f"SELECT pg_terminate_backend(pid) {others}")  # noqa: S608 (fixed text)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and conn.execute(
                f"SELECT count(*) {others}").fetchone()[0]:  # noqa: S608 (fixed text)
            time.sleep(0.05)
        # An ended backend's figures land a moment after it is gone: read until they settle.
        seen, steady, deadline = None, 0, time.monotonic() + 30
        while time.monotonic() < deadline:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            count = conn.execute(
                "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                "FROM pg_stat_user_tables WHERE relname IN "
                "('sessions_api_session', 'sessions_api_sessionevent')").fetchone()[0]
            if count == seen and steady >= 2:
                return count
            steady = steady + 1 if count == seen else 0
            seen = count
            time.sleep(1)
        raise RuntimeError("PostgreSQL's table statistics did not settle within 30 s")


def transaction_id(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT pg_current_xact_id()::xid::text::bigint").fetchone()[0]


def rows_written_since(dsn: str, xid: int) -> int:
    """Rows of the session tables inserted or updated by a transaction after ``xid``: the
    direct check behind the statistics counters."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return sum(conn.execute(
            f"SELECT count(*) FROM {table} WHERE xmin::text::bigint > %s",  # noqa: S608
            [xid]).fetchone()[0] for table in ("sessions_api_session", "sessions_api_sessionevent"))


def main() -> None:
    wrk_path()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    name = f"bench_{os.getpid()}"
    with (servers.fake_auth0() as auth0, servers.redis_server() as redis_server,
          servers.database(name) as dsn):
        env = servers.service_env(database_url=dsn, redis_url=redis_server.url, auth0=auth0)
        servers.migrate(env)
        web = servers.Gunicorn(env, workers=WORKERS, worker_class=WORKER_CLASS, threads=THREADS)
        try:
            measured = measure(web, env, auth0, dsn, redis_server.client())
        finally:
            web.stop()
        measured.memory = json.loads(subprocess.run(
            [sys.executable, "-m", "bench.memory", str(MEMORY_SESSIONS)],
            cwd=servers.REPO, env={**env, "REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/1"},
            check=True, capture_output=True, text=True).stdout)
    measured.elapsed = time.monotonic() - started
    measured.load_before, measured.cores = load_before, os.cpu_count()
    print(table(measured, seconds=SECONDS, rounds=ROUNDS, workers=WORKERS,
                worker_class=WORKER_CLASS, threads=THREADS))


def measure(web: servers.Gunicorn, env: dict, auth0, dsn: str, redis_client) -> Measured:
    expires = int(time.time()) + 3600
    access_tokens = [auth0.token(f"auth0|bench-{n}", email=f"user{n}@example.com",
                                 name=f"User {n}", exp=expires) for n in range(USERS)]
    sessions = [f"Session {token}" for token in first_sight(web.url, access_tokens)]
    bearers = [f"Bearer {token}" for token in access_tokens]
    runs = {
        BARE: ("/bench/django/", "GET", sessions),
        "bare DRF `APIView`": ("/bench/drf/", "GET", sessions),
        CURRENT: ("/api/sessions/current/", "GET", sessions),
        "host DRF view, no authentication": ("/bench/host-open/", "GET", sessions),
        "host DRF view, `SessionTokenAuthentication`": ("/bench/host/", "GET", sessions),
        "`POST /api/sessions/create/` (returning user)": ("/api/sessions/create/", "POST", bearers),
    }
    measured = Measured({label: [] for label in runs})
    for path, method, headers in runs.values():  # warm-up: imports, connections, caches
        wrk(web.url + path, headers=headers, method=method, seconds=2)
    for _ in range(ROUNDS):
        for label, (path, method, headers) in runs.items():
            measured.runs[label].append(measured_wrk(web, redis_client, path, headers=headers,
                                                     method=method, seconds=SECONDS))
    measured.jwks_fetches = auth0.jwks_fetches

    # Creates still queued in gunicorn's backlog when wrk stopped finish first.
    time.sleep(3)
    before, xid = sessions_table_writes(dsn), transaction_id(dsn)
    audit_run = wrk(web.url + "/api/sessions/current/", headers=sessions, seconds=SECONDS / 2)
    writes = sessions_table_writes(dsn) - before
    measured.audit_writes_per_1000 = writes * 1000 / audit_run.requests
    measured.audit_rows_per_1000 = rows_written_since(dsn, xid) * 1000 / audit_run.requests

    # Latency below saturation: two connections for three workers, so nothing queues and
    # p99 is the time to serve a request (at -c16 every request also waits its turn).
    for label in (BARE, CURRENT):
        path, _, headers = runs[label]
        measured.light_p99[label] = statistics.median(
            wrk(web.url + path, headers=headers, seconds=SECONDS / 2, connections=2).p99_ms
            for _ in range(ROUNDS))

    second = servers.Gunicorn(env, workers=WORKERS, worker_class=WORKER_CLASS,
                              threads=THREADS)
    try:
        measured.instances = instances_compare(web, second, sessions)
    finally:
        second.stop()
    return measured


def instances_compare(first, second, sessions: list[str]) -> dict:
    """``/current`` on one instance at -c16 against two instances at -c8 each, same Redis."""
    one, two = [], []
    path = "/api/sessions/current/"
    for _ in range(ROUNDS):
        one.append(wrk(first.url + path, headers=sessions, seconds=SECONDS / 2).rps)
        with ThreadPoolExecutor(2) as pool:
            pair = list(pool.map(lambda web: wrk(web.url + path, headers=sessions,
                                                 seconds=SECONDS / 2, connections=8),
                                 (first, second)))
        two.append(sum(result.rps for result in pair))
    return {"one": statistics.median(one), "two": statistics.median(two)}


if __name__ == "__main__":
    main()
