"""``make bench``: the service against its peers, on servers of its own.

Starts a fake Auth0 tenant (JWKS over HTTP), a redis-server, PostgreSQL databases (created and
dropped), the service as ``make serve`` runs it (production settings, multiprocess metrics,
3 workers) and each peer (``bench/peers/``) in its own minimal Django project on the same
gunicorn line, then measures with wrk (-t1 -c16) three interleaved rounds of every row and
prints medians as markdown tables. Environment: ``BENCH_SECONDS`` (10) per run,
``BENCH_ROUNDS`` (3), ``BENCH_USERS`` (1000), ``BENCH_MEMORY_SESSIONS`` (100000),
``BENCH_WORKERS`` (3), ``BENCH_WORKER_CLASS`` (the gunicorn configuration's).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import servers  # noqa: E402
from bench.load import wrk, wrk_path  # noqa: E402
from bench.report import (  # noqa: E402
    BARE,
    CREATE,
    CURRENT,
    HOST_OURS,
    PEERS,
    RIVALS,
    Measured,
    Row,
    table,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
USERS = int(os.environ.get("BENCH_USERS", "1000"))
MEMORY_SESSIONS = int(os.environ.get("BENCH_MEMORY_SESSIONS", "100000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS") or None
PEER_REDIS_DB = 2  # of the bench's own redis-server; the service uses 0, the memory run 1


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
    metrics_dir = tempfile.mkdtemp(prefix="bench-metrics-")
    with (servers.fake_auth0() as auth0, servers.redis_server() as redis_server,
          servers.database(name) as dsn, servers.database(f"{name}_peers") as peers_dsn):
        env = servers.service_env(database_url=dsn, redis_url=redis_server.url, auth0=auth0)
        # As deployed with several workers (docker-compose, .env.example): each worker writes
        # its figures to this directory and a scrape adds them up.
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        servers.migrate(env)
        peer_env = {**env, "BENCH_PEER_DATABASE_URL": peers_dsn,
                    "BENCH_PEER_REDIS_URL": redis_server.url.rsplit("/", 1)[0]
                    + f"/{PEER_REDIS_DB}"}
        started_servers = []
        try:
            web = servers.Gunicorn(env, workers=WORKERS, worker_class=WORKER_CLASS)
            started_servers.append(web)
            peers = {}
            for label, peer in PEERS.items():
                peers[label] = peer_start(peer, peer_env)
                started_servers.append(peers[label][0])
            host = peer_start("host_ours", env)
            started_servers.append(host[0])
            measured = measure(web, peers, host, env, auth0, dsn, redis_server.client())
            measured.load_after = os.getloadavg()[0]
        finally:
            for server in started_servers:
                server.stop()
        measured.memory = json.loads(subprocess.run(
            [sys.executable, "-m", "bench.memory", str(MEMORY_SESSIONS)],
            cwd=servers.REPO, env={**env, "REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/1"},
            check=True, capture_output=True, text=True).stdout)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    measured.elapsed = time.monotonic() - started
    measured.load_before, measured.cores = load_before, os.cpu_count()
    print(table(measured, seconds=SECONDS, rounds=ROUNDS, workers=WORKERS,
                worker_class=WORKER_CLASS or "sync"))


def peer_start(peer: str, env: dict) -> tuple[servers.Gunicorn, dict]:
    """A peer's project: its tables, its credentials, its gunicorn."""
    env = {**env, "DJANGO_SETTINGS_MODULE": f"bench.peers.{peer}"}
    if peer in MIGRATED:
        subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
                       cwd=servers.REPO, env=env, check=True)
    seeded = {}
    if peer in SEEDED:
        seeded = json.loads(subprocess.run(
            [sys.executable, "-m", "bench.peers.seed", str(USERS)], cwd=servers.REPO, env=env,
            check=True, capture_output=True, text=True).stdout)
    server = servers.Gunicorn(env, app=servers.PEER_APP, workers=WORKERS,
                              worker_class=WORKER_CLASS, probe="/bench/")
    return server, seeded


# The peers that read credentials (the others answer anyone), and those holding them in
# PostgreSQL. The host project reads the service's own sessions and tables.
SEEDED = {"drf_cache_get", "cache_sessions", "cache_sessions_plain", "drf_token", "knox_token",
          "drf_cache_sessions"}
MIGRATED = {"drf_token", "knox_token", "drf_cache_sessions"}


def measure(web: servers.Gunicorn, peers: dict, host, env: dict, auth0, dsn: str,
            redis_client) -> Measured:
    expires = int(time.time()) + 3600
    access_tokens = [auth0.token(f"auth0|bench-{n}", email=f"user{n}@example.com",
                                 name=f"User {n}", exp=expires) for n in range(USERS)]
    sessions = [f"Session {token}" for token in first_sight(web.url, access_tokens)]
    bearers = [f"Bearer {token}" for token in access_tokens]
    rows = {}
    for label, (server, seeded) in peers.items():
        rows[label] = Row(server, "/bench/", "GET", seeded.get("header", "Authorization"),
                          seeded.get("values", sessions),
                          "peer" if label in RIVALS else "reference")
    rows[CURRENT] = Row(web, "/api/sessions/current/", "GET", "Authorization", sessions,
                        "service")
    rows[HOST_OURS] = Row(host[0], "/bench/", "GET", "Authorization", sessions, "host")
    rows[CREATE] = Row(web, "/api/sessions/create/", "POST", "Authorization", bearers, "service")
    measured = Measured({label: [] for label in rows}, {label: row.project for label, row in
                                                        rows.items()})
    for row in rows.values():  # warm-up: imports, connections, caches
        wrk(row.server.url + row.path, headers=row.values, header=row.header,
            method=row.method, seconds=2)
    for _ in range(ROUNDS):
        for label, row in rows.items():
            measured.runs[label].append(measured_wrk(
                row.server, redis_client, row.path, headers=row.values, header=row.header,
                method=row.method, seconds=SECONDS))
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
        row = rows[label]
        measured.light_p99[label] = statistics.median(
            wrk(row.server.url + row.path, headers=row.values, header=row.header,
                seconds=SECONDS / 2, connections=2).p99_ms
            for _ in range(ROUNDS))

    second = servers.Gunicorn(env, workers=WORKERS, worker_class=WORKER_CLASS)
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
