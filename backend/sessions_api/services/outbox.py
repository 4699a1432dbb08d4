"""Revocations made while the database was down: Redis killed the token at once, and the
audit event waits here, in a Redis list, until the database answers again."""

import json
from datetime import datetime

from ..errors import StoreUnavailable
from ..store import session_store
from ..store.audit import database_call
from .common import Caller, SessionRef, revoke_in_database


def outbox_push(entry: dict, *, token_hash: str, until_ms: int) -> None:
    hot = session_store.hot
    session_store.redis_call(hot.client.rpush, hot.outbox_key(), json.dumps(entry))
    known = session_store.revoked_outside_database
    now = hot.clock()
    for stale, until in list(known.items()):
        if until < now:
            del known[stale]
    known[token_hash] = until_ms


def _outbox_pop(count: int) -> list[str]:
    hot = session_store.hot
    return session_store.redis_call(hot.client.lpop, hot.outbox_key(), count) or []


def _outbox_return(entries: list[str]) -> None:
    if entries:
        hot = session_store.hot
        session_store.redis_call(hot.client.rpush, hot.outbox_key(), *entries)


def outbox_drain(limit: int = 1000) -> int:
    """Write the audit events of revocations made while the database was down; returns how
    many revocations were recorded. A session revoked again meanwhile (logout everywhere
    reached it through the database) takes the earlier revocation's time and reason, with
    both events kept; an entry already recorded is dropped, not counted."""
    drained = taken = 0
    while taken < limit:
        entries = _outbox_pop(100)
        if not entries:
            break
        taken += len(entries)
        for position, raw in enumerate(entries):
            entry = json.loads(raw)
            caller = Caller(entry["actor"], entry.get("ip"), entry.get("user_agent") or "")
            ref = SessionRef(entry["session_id"], "", "", 0)
            try:
                drained += database_call(
                    revoke_in_database, ref=ref, reason=entry["reason"], caller=caller,
                    at=datetime.fromisoformat(entry["at"]), stale=False, earlier_wins=True)
            except StoreUnavailable:
                _outbox_return(entries[position:])
                raise
    return drained


def drain_outbox_after_a_write() -> None:
    """The database answers again: write what this process left in the outbox (the beat
    task drains what other processes left)."""
    if not session_store.revoked_outside_database:
        return
    try:
        outbox_drain()
    except StoreUnavailable:
        return
    session_store.revoked_outside_database.clear()


