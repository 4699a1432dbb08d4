"""Cleanup of what has ended. One code path for ``manage.py cleanup_sessions`` and the beat
task; ``dry_run`` walks the same batches, counts the same rows and keys, and writes nothing.

* Sessions past their idle or absolute deadline get their ``expired`` event (once: the rows
  are claimed with ``SKIP LOCKED`` and re-checked inside the batch's short transaction).
  A session whose hot copy shows activity the audit copy has not received yet is left alone.
* Audit rows (session and events) are deleted ``AUDIT_RETENTION_DAYS`` after the session's
  absolute deadline (every session has ended by then); ``0`` keeps them forever.
* Entries of the per-user Redis indexes (``ss:u:{account}``) that point at a session whose
  hot copy is gone, tombstoned or past its deadline are pruned (found with SCAN, so it works
  on a Redis Cluster too).
"""

import json
import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction

from ..conf import session_settings
from ..models import Session, SessionEvent
from ..store import session_store
from ..store.audit import database_call, events_record
from ..store.record import HotRecord, epoch_ms

logger = logging.getLogger("sessions_api.cleanup")

CLEANUP_ACTOR = "system:cleanup"


def sessions_cleanup(*, dry_run: bool, batch_size: int) -> dict:
    """Expire, delete past retention and prune Redis; returns what was (or would be) done."""
    now = datetime.now(UTC)
    deleted_sessions, deleted_events = database_call(_retention_delete, now=now,
                                                     dry_run=dry_run, batch_size=batch_size)
    counts = {
        "dry_run": dry_run,
        "expired": database_call(_expire, now=now, dry_run=dry_run, batch_size=batch_size),
        "deleted_sessions": deleted_sessions,
        "deleted_events": deleted_events,
        "index_entries_pruned": session_store.redis_call(_index_prune, now=now, dry_run=dry_run),
        "retention_days": session_settings.AUDIT_RETENTION_DAYS,
    }
    if not dry_run:
        session_store.redis_call(session_store.hot.client.set, cleanup_last_run_key(),
                            json.dumps({"at": now.timestamp(), **counts}))
    logger.info("sessions cleanup (dry run)" if dry_run else "sessions cleanup", extra=counts)
    return counts


def cleanup_last_run_key() -> str:
    return f"{session_settings.REDIS_KEY_PREFIX}:metrics:cleanup"


def _pages(queryset, batch_size: int, *fields):
    """Keyset pagination by primary key: each page is a fresh, short query."""
    last = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page.values_list("pk", *fields)[:batch_size])
        if not rows:
            return
        last = rows[-1][0]
        yield rows


# Expiry.

def _expire(*, now: datetime, dry_run: bool, batch_size: int) -> int:
    candidates = Session.objects.past_deadline(now)
    cutoff = _retention_cutoff(now)
    if cutoff is not None:  # those are deleted, not expired: a dry run must count the same
        candidates = candidates.filter(absolute_expires_at__gte=cutoff)
    expired = 0
    fields = ("token_hash", "last_activity_at", "absolute_expires_at")
    for rows in _pages(candidates, batch_size, *fields):
        ended = session_store.redis_call(_ended_in_hot_copy, rows, now)
        if dry_run:
            expired += len(ended)
        elif ended:
            expired += _expire_batch(ended)
    return expired


def _ended_in_hot_copy(rows, now: datetime) -> dict:
    """``{session id: (deadline, reason)}`` of the rows that really ended: the hot copy's
    last activity is newer than the audit copy's until the next activity flush."""
    idle = timedelta(seconds=session_settings.IDLE_TIMEOUT)
    copies = session_store.hot.peek_many([token_hash for _, token_hash, _, _ in rows])
    ended = {}
    for (pk, _, last_activity, absolute), copy in zip(rows, copies, strict=True):
        if isinstance(copy, HotRecord):
            last_activity = max(last_activity,
                                datetime.fromtimestamp(copy.last_activity_ms / 1000, UTC))
        deadline = min(last_activity + idle, absolute)
        if deadline <= now:
            ended[pk] = (deadline, "absolute" if deadline == absolute else "idle")
    return ended


def _expire_batch(ended: dict) -> int:
    with transaction.atomic():
        claimed = list(
            Session.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(ended), revoked_at__isnull=True, expired_at__isnull=True)
            .values_list("pk", flat=True))
        Session.objects.bulk_update(
            [Session(pk=pk, expired_at=ended[pk][0]) for pk in claimed], ["expired_at"])
        events_record([
            SessionEvent(session_id=pk, kind=SessionEvent.Kind.EXPIRED, reason=ended[pk][1],
                         actor=CLEANUP_ACTOR, at=ended[pk][0])
            for pk in claimed])
    return len(claimed)


# Retention.

def _retention_cutoff(now: datetime) -> datetime | None:
    days = session_settings.AUDIT_RETENTION_DAYS
    return now - timedelta(days=days) if days > 0 else None


def _retention_delete(*, now: datetime, dry_run: bool, batch_size: int) -> tuple[int, int]:
    cutoff = _retention_cutoff(now)
    if cutoff is None:
        return 0, 0
    sessions = events = 0
    for rows in _pages(Session.objects.filter(absolute_expires_at__lt=cutoff), batch_size):
        ids = [pk for (pk,) in rows]
        events += _delete_batch(ids, dry_run=dry_run)
        sessions += len(ids)
    return sessions, events


def _delete_batch(ids: list, *, dry_run: bool) -> int:
    events = SessionEvent.objects.filter(session_id__in=ids)
    if dry_run:
        return events.count()
    with transaction.atomic():
        deleted, _ = events.delete()
        Session.objects.filter(pk__in=ids).delete()
    return deleted


# Redis index leftovers.

def _index_prune(*, now: datetime, dry_run: bool) -> int:
    hot = session_store.hot
    client = hot.client
    now_ms = epoch_ms(now)
    idle_ms = session_settings.IDLE_TIMEOUT * 1000
    pruned = 0
    for key in client.scan_iter(match=hot.user_index_key("*"), count=500):
        entries = client.hgetall(key)
        if not entries:
            continue
        copies = hot.peek_many(list(entries.values()))
        dead = [
            session_id
            for session_id, copy in zip(entries, copies, strict=True)
            if not isinstance(copy, HotRecord) or copy.is_expired(now_ms, idle_ms)
        ]
        if dead and not dry_run:
            client.hdel(key, *dead)
        pruned += len(dead)
    return pruned
