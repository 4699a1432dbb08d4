"""Every Prometheus metric of the service (``api/metrics_view.py`` serves them).

Request and store figures are counted by the process that served them. With several
gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, before the workers
start): each worker then writes its figures there and a scrape adds them up. The figures of
the periodic snapshot are computed by a Celery worker, possibly on another host, so they
travel through Redis and are read at scrape time; so is the circuit-breaker state, which is
per process and read live.
"""

import json
import time

from django.db.backends.signals import connection_created
from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUEST_LATENCY = Histogram(
    "session_http_request_duration_seconds", "Time to answer a request, per endpoint.",
    ["endpoint", "method"], buckets=LATENCY_BUCKETS)
CREATE_OUTCOMES = Counter(
    "session_create", "Session creations by outcome (ok, or the error code).", ["code"])
VALIDATE_OUTCOMES = Counter(
    "session_validate", "Session-token checks by outcome (ok, or the error code).", ["code"])
STORE_LATENCY = Histogram(
    "session_store_duration_seconds", "Time of one call to a store.", ["store"],
    buckets=LATENCY_BUCKETS)
STORE_ERRORS = Counter(
    "session_store_errors", "Store calls that failed because the store did not answer.",
    ["store"])  # counted by the circuit breakers, which see every such failure
UNKNOWN_TOKENS = Counter(
    "session_unknown_token", "Calls carrying a session token the service does not know.")
UNKNOWN_TOKEN_BURSTS = Counter(
    "session_unknown_token_bursts", "Bursts of unknown session tokens from one client IP.")

REDIS_LATENCY = STORE_LATENCY.labels("redis")
DATABASE_LATENCY = STORE_LATENCY.labels("database")


def _database_observer(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        DATABASE_LATENCY.observe(time.perf_counter() - started)


def _observe_connection(sender, connection, **kwargs):
    if _database_observer not in connection.execute_wrappers:
        connection.execute_wrappers.append(_database_observer)


def database_observer_connect() -> None:
    """Time every query of every database connection this process opens."""
    connection_created.connect(_observe_connection, dispatch_uid="sessions_api.metrics")


def problem_code(response) -> str | None:
    """The ``code`` of a problem-details response."""
    if not response.get("Content-Type", "").startswith("application/problem+json"):
        return None
    try:
        return json.loads(response.content).get("code")
    except (ValueError, AttributeError):
        return None
