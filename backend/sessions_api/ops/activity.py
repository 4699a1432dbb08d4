"""Last activity reaches the audit copy in batches, never as a write per request.

The hot path records a session in its bucket's activity set (``ss:a:{ab}``) when it slides
the idle deadline (at most once per write interval). The flush takes each set whole and writes
the newest activity of every session in one statement per bucket.
"""

import logging
from datetime import UTC, datetime

from django.db import connection

from ..errors import StoreUnavailable
from ..models import Session
from ..store import session_store
from ..store.audit import database_call

logger = logging.getLogger("sessions_api.activity")

BUCKETS = [f"{index:02x}" for index in range(256)]

# Take the whole set atomically: activity recorded after this lands in a new set.
_TAKE = """
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
redis.call('DEL', KEYS[1])
return entries
"""


def activity_flush() -> int:
    """Write batched activity to PostgreSQL; returns how many sessions were updated."""
    hot = session_store.hot
    flushed = 0
    for bucket in BUCKETS:
        key = hot.activity_key(bucket)
        entries = session_store.redis_call(hot.client.eval, _TAKE, 1, key)
        if not entries:
            continue
        latest = {entries[i]: int(float(entries[i + 1])) for i in range(0, len(entries), 2)}
        try:
            flushed += database_call(_write, latest)
        except StoreUnavailable:
            # Put them back (keeping any newer activity) for the next flush.
            session_store.redis_call(hot.client.zadd, key, latest, gt=True)
            raise
    if flushed:
        logger.info("activity flushed", extra={"sessions": flushed})
    return flushed


def _write(latest: dict[str, int]) -> int:
    moments = {sid: datetime.fromtimestamp(ms / 1000, UTC) for sid, ms in latest.items()}
    if connection.vendor != "postgresql":
        updated = 0
        for session_id, moment in moments.items():
            updated += Session.objects.filter(pk=session_id, last_activity_at__lt=moment).update(
                last_activity_at=moment)
        return updated
    table = Session._meta.db_table
    values = ", ".join(["(%s::uuid, %s::timestamptz)"] * len(moments))
    params = [item for pair in moments.items() for item in pair]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET last_activity_at = v.at "  # noqa: S608 (fixed names)
            f"FROM (VALUES {values}) AS v(id, at) "
            "WHERE s.id = v.id AND s.last_activity_at < v.at",
            params,
        )
        return cursor.rowcount
