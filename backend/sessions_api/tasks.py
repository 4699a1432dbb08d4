"""Periodic tasks. Thin: each takes its lock, calls one service and logs one line of counts.

A store that does not answer makes the task retry with exponential backoff; every service is
idempotent, so a retried or overlapping run does no harm.
"""

import logging

from celery import shared_task
from celery.signals import task_postrun, task_prerun
from django.db import InterfaceError, OperationalError

from .conf import session_settings
from .errors import StoreUnavailable
from .logging import request_id_var
from .ops.activity import activity_flush
from .ops.cleanup import sessions_cleanup
from .ops.figures import metrics_snapshot_record
from .ops.locks import task_lock
from .services import outbox_drain
from .services.webhooks import webhook_deliveries_send
from .store import session_store
from .store.connection import CONNECTION_ERRORS

logger = logging.getLogger("sessions_api.tasks")

RETRYING = {
    "autoretry_for": (StoreUnavailable, OperationalError, InterfaceError, *CONNECTION_ERRORS),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
    "ignore_result": True,
}


@task_prerun.connect
def _request_id_of_task(task_id=None, **kwargs):
    request_id_var.set(f"task-{task_id}")


@task_postrun.connect
def _request_id_cleared(**kwargs):
    request_id_var.set("-")


def run_locked(name: str, interval: int, service) -> dict | None:
    # Two intervals: a run slower than its interval still excludes the next one, and a
    # worker that died holding the lock delays at most one more run.
    with task_lock(name, ttl_seconds=max(2 * interval, 120)) as held:
        if not held:
            logger.info("%s skipped: another run holds its lock", name, extra={"task": name})
            return None
        result = service()
    counts = result if isinstance(result, dict) else {"count": result}
    logger.info("%s done", name, extra={"task": name, **counts})
    return counts


@shared_task(name="sessions_api.cleanup_sessions", **RETRYING)
def cleanup_sessions():
    def cleanup():
        return sessions_cleanup(dry_run=False, batch_size=session_settings.CLEANUP_BATCH_SIZE)

    return run_locked("cleanup_sessions", session_settings.CLEANUP_INTERVAL, cleanup)


@shared_task(name="sessions_api.activity_flush", **RETRYING)
def activity_flush_task():
    return run_locked("activity_flush", session_settings.ACTIVITY_FLUSH_INTERVAL, activity_flush)


@shared_task(name="sessions_api.outbox_drain", **RETRYING)
def outbox_drain_task():
    return run_locked("outbox_drain", session_settings.OUTBOX_DRAIN_INTERVAL, outbox_drain)


@shared_task(name="sessions_api.hot_copy_repair", **RETRYING)
def hot_copy_repair():
    return run_locked("hot_copy_repair", session_settings.REPAIR_INTERVAL, session_store.repair)


@shared_task(name="sessions_api.metrics_snapshot", **RETRYING)
def metrics_snapshot():
    return run_locked("metrics_snapshot", session_settings.METRICS_INTERVAL,
                      metrics_snapshot_record)


@shared_task(name="sessions_api.webhooks_deliver", **RETRYING)
def webhooks_deliver():
    """Queued after each commit that wrote a delivery, and swept by beat every few seconds."""
    if not session_settings.webhooks_on:
        return None
    return run_locked("webhooks_deliver", session_settings.WEBHOOK_SWEEP_INTERVAL,
                      webhook_deliveries_send)
