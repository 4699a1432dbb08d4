"""Every Prometheus metric of the service (``api/metrics_view.py`` serves them).

Request and store figures are counted by the process that served them. With several
gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, before the workers
start): each worker then writes its figures there and a scrape adds them up. Writing there
costs every increment a lock and a write to a memory-mapped file, so in that mode a process
adds its figures up in memory and writes the sums at most once per ``FLUSH_SECONDS`` (from a
background thread, before a scrape it answers, and at exit): a scrape may miss the last second
of another worker's figures, never any for good. The figures of the periodic snapshot are
computed by a Celery worker, possibly on another host, so they travel through Redis and are
read at scrape time; so is the circuit-breaker state, which is per process and read live.
"""

import atexit
import bisect
import json
import os
import threading
import time

from django.db.backends.signals import connection_created
from prometheus_client import Counter, Histogram

FLUSH_SECONDS = 1.0


class _Pending:
    """What one labelled child of a metric counted since the last write, in this process."""

    __slots__ = ("child", "bounds", "counts", "total", "lock")

    def __init__(self, child, bounds=None):
        self.child = child
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1) if bounds else None  # the last is +Inf
        self.total = 0.0
        self.lock = threading.Lock()

    def inc(self, amount: float = 1) -> None:
        with self.lock:
            self.total += amount
        _flusher_ensure()

    def observe(self, amount: float) -> None:
        index = bisect.bisect_left(self.bounds, amount)  # buckets are "less than or equal"
        with self.lock:
            self.total += amount
            self.counts[index] += 1
        _flusher_ensure()

    def flush(self) -> None:
        with self.lock:
            total, self.total = self.total, 0.0
            counts = self.counts
            if counts is not None:
                self.counts = [0] * len(counts)
        if counts is None:
            if total:
                self.child.inc(total)
            return
        if any(counts):
            # A histogram's sum and its (non-cumulative) buckets, as observe() writes them.
            self.child._sum.inc(total)
            for index, count in enumerate(counts):
                if count:
                    self.child._buckets[index].inc(count)


class Batched:
    """A Counter or Histogram that, in multiprocess mode, adds up in memory (``_Pending``) and
    writes at most once per ``FLUSH_SECONDS``; otherwise the metric itself."""

    def __init__(self, metric):
        self.metric = metric
        self._bounds = getattr(metric, "_upper_bounds", None)
        self._children: dict[tuple, _Pending] = {}
        self._plain = None

    def labels(self, *values):
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._wrap(self.metric.labels(*values))
        return child

    def _wrap(self, child):
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return child
        pending = _Pending(child, self._bounds[:-1] if self._bounds else None)
        _all_pending.append(pending)
        return pending

    def _unlabelled(self):
        if self._plain is None:
            self._plain = self._wrap(self.metric)
        return self._plain

    def inc(self, amount: float = 1) -> None:
        self._unlabelled().inc(amount)

    def observe(self, amount: float) -> None:
        self._unlabelled().observe(amount)

    def __getattr__(self, name):  # the metric's own attributes (its name, its value in tests)
        return getattr(self.metric, name)


_all_pending: list[_Pending] = []
_flusher: list[threading.Thread] = []


def metrics_flush() -> None:
    """Write what this process counted since the last write (multiprocess mode)."""
    for pending in list(_all_pending):
        pending.flush()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        metrics_flush()


def _flusher_ensure() -> None:
    if not _flusher:
        thread = threading.Thread(target=_flush_forever, name="metrics-flush", daemon=True)
        _flusher.append(thread)
        thread.start()


def _after_fork() -> None:
    # A forked worker starts with nothing counted and no thread: its parent's are not its own.
    _flusher.clear()
    for pending in _all_pending:
        pending.lock = threading.Lock()
        pending.total = 0.0
        if pending.counts is not None:
            pending.counts = [0] * len(pending.counts)


os.register_at_fork(after_in_child=_after_fork)
atexit.register(metrics_flush)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUEST_LATENCY = Batched(Histogram(
    "session_http_request_duration_seconds", "Time to answer a request, per endpoint.",
    ["endpoint", "method"], buckets=LATENCY_BUCKETS))
CREATE_OUTCOMES = Batched(Counter(
    "session_create", "Session creations by outcome (ok, or the error code).", ["code"]))
VALIDATE_OUTCOMES = Batched(Counter(
    "session_validate", "Session-token checks by outcome (ok, or the error code).", ["code"]))
STORE_LATENCY = Batched(Histogram(
    "session_store_duration_seconds", "Time of one call to a store.", ["store"],
    buckets=LATENCY_BUCKETS))
STORE_ERRORS = Batched(Counter(
    "session_store_errors", "Store calls that failed because the store did not answer.",
    ["store"]))  # counted by the circuit breakers, which see every such failure
UNKNOWN_TOKENS = Batched(Counter(
    "session_unknown_token", "Calls carrying a session token the service does not know."))
UNKNOWN_TOKEN_BURSTS = Batched(Counter(
    "session_unknown_token_bursts", "Bursts of unknown session tokens from one client IP."))
WEBHOOK_ATTEMPTS = Batched(Counter(
    "session_webhook_deliveries", "Webhook delivery attempts by outcome (delivered, retrying, "
    "failed: past its retry window).", ["outcome"]))  # counted by the worker that sends them

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
