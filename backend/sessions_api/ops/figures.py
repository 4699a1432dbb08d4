"""The operator's figures: ``manage.py session_metrics`` and the beat snapshot behind the
``sessions_*`` gauges of ``/metrics``.

Failed authentication attempts are counted deployment-wide in Redis, in per-minute buckets
sharing one hash tag (so one MGET reads a day of them, on a Redis Cluster too). A process
adds its count at most once a second, so a burst of bad tokens costs Redis one write per
second per process, not one per request.
"""

import json
import math
import threading
import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce

from ..conf import session_settings
from ..errors import StoreUnavailable
from ..models import Session, SessionEvent, WebhookDelivery
from ..store import session_store
from ..store.audit import database_call
from .cleanup import cleanup_last_run_key

MINUTES_KEPT = 24 * 60


def _prefix() -> str:
    return session_settings.REDIS_KEY_PREFIX


def _failures_key(minute: int) -> str:
    return f"{_prefix()}:m:{{authfail}}:{minute}"


def snapshot_key() -> str:
    return f"{_prefix()}:metrics:snapshot"


class AuthFailureCounter:
    """Counts 401s in this process and adds them to Redis at most once per ``every`` s."""

    clock = staticmethod(time.time)
    every = 1.0

    def __init__(self):
        self.pending = 0
        self.flushed_at = 0.0
        self._lock = threading.Lock()

    def record(self) -> None:
        with self._lock:
            self.pending += 1
            due = self.clock() - self.flushed_at >= self.every
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            count, self.pending, self.flushed_at = self.pending, 0, self.clock()
        if not count:
            return
        key = _failures_key(int(self.clock() // 60))
        try:
            session_store.redis_call(self._add, key, count)
        except StoreUnavailable:
            with self._lock:
                self.pending += count

    @staticmethod
    def _add(key: str, count: int) -> None:
        pipeline = session_store.hot.client.pipeline(transaction=False)
        pipeline.incrby(key, count)
        pipeline.expire(key, (MINUTES_KEPT + 5) * 60)
        pipeline.execute()


auth_failures = AuthFailureCounter()


def session_metrics_collect() -> dict:
    """Every figure, computed now: the audit copy's and the hot copy's."""
    now = datetime.now(UTC)
    figures = database_call(_audit_figures, now)
    figures.update(session_store.redis_call(_redis_figures, now))
    figures["collected_at_timestamp"] = round(now.timestamp(), 3)
    return figures


def metrics_snapshot_record() -> dict:
    """Compute the figures and leave them in Redis for every web process to expose."""
    figures = session_metrics_collect()
    ttl = max(session_settings.METRICS_INTERVAL, 60) * 10
    session_store.redis_call(session_store.hot.client.set, snapshot_key(), json.dumps(figures),
                             ex=ttl)
    return figures


def metrics_snapshot_read() -> dict | None:
    try:
        raw = session_store.redis_call(session_store.hot.client.get, snapshot_key())
    except StoreUnavailable:
        return None
    return json.loads(raw) if raw else None


def _audit_figures(now: datetime) -> dict:
    sessions = Session.objects
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    per_user = sorted(sessions.active(now).values("account_id")
                      .annotate(n=Count("pk")).values_list("n", flat=True))
    ended = sessions.filter(Q(revoked_at__gte=day) | Q(expired_at__gte=day)).aggregate(
        avg=Avg(ExpressionWrapper(Coalesce("revoked_at", "expired_at") - F("created_at"),
                                  output_field=DurationField())))["avg"]
    return {
        "active": sum(per_user),
        "created_last_hour": sessions.filter(created_at__gte=hour).count(),
        "created_last_day": sessions.filter(created_at__gte=day).count(),
        "duration_avg_seconds": round(ended.total_seconds(), 1) if ended is not None else None,
        "per_user_max": per_user[-1] if per_user else 0,
        "per_user_p95": _percentile(per_user, 95),
        "awaiting_cleanup": sessions.past_deadline(now).count(),
        "hot_copy_stale": sessions.filter(hot_copy_stale=True).count(),
        "audit_session_rows": sessions.count(),
        "audit_event_rows": SessionEvent.objects.count(),
        "audit_bytes": _audit_bytes(),
        **_webhook_figures(now),
    }


def _webhook_figures(now: datetime) -> dict:
    pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
    oldest = pending.order_by("pk").values_list("event__at", flat=True).first()
    return {
        "webhook_pending": pending.count(),
        "webhook_failed": WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.FAILED).count(),
        "webhook_oldest_pending_seconds": round((now - oldest).total_seconds(), 1)
        if oldest else 0,
    }


def _percentile(ordered: list[int], percent: int) -> int:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return 0
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)]


def _audit_bytes() -> int | None:
    """Table, indexes and TOAST of both audit tables (PostgreSQL; ``None`` elsewhere)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(%s) + pg_total_relation_size(%s)",
                       [Session._meta.db_table, SessionEvent._meta.db_table])
        return int(cursor.fetchone()[0])


def _redis_figures(now: datetime) -> dict:
    client = session_store.hot.client
    minute = int(now.timestamp() // 60)
    buckets = client.mget([_failures_key(minute - age) for age in range(MINUTES_KEPT)])
    counts = [int(value or 0) for value in buckets]
    keys, memory = _session_memory(client)
    last_cleanup = client.get(cleanup_last_run_key())
    return {
        "failed_auth_last_hour": sum(counts[:60]),
        "failed_auth_last_day": sum(counts),
        "redis_keys": keys,
        "redis_memory_bytes": memory,
        "outbox_length": client.llen(session_store.hot.outbox_key()),
        "cleanup_last_run_timestamp": json.loads(last_cleanup)["at"] if last_cleanup else None,
    }


def _session_memory(client) -> tuple[int, int]:
    """Session keys (``ss:t:*``, found with SCAN) and their memory: MEMORY USAGE of a sample,
    extrapolated to all of them."""
    sample_size = session_settings.METRICS_MEMORY_SAMPLE
    pattern = f"{_prefix()}:t:*"
    keys = 0
    pipeline = client.pipeline(transaction=False)
    for key in client.scan_iter(match=pattern, count=1000):
        if keys < sample_size:
            pipeline.memory_usage(key)
        keys += 1
    sampled = [size for size in pipeline.execute() if size is not None]
    if not sampled:
        return keys, 0
    return keys, round(sum(sampled) / len(sampled) * keys)
