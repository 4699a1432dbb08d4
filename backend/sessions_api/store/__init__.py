"""One store in front of two copies: Redis (hot) and the database (audit, durable).

Reads come from Redis in one round trip. A miss is restored from the database; a revoked
session is never restored. While Redis is down, ``SESSION_STORE_FALLBACK=postgres`` serves
from the database and marks what changed so Redis is repaired before it serves again;
``closed`` answers ``store_unavailable``. A store error is never read as "no session".
"""

import contextlib
import json
import logging
import time
from datetime import UTC, datetime

from django.db import transaction

from ..conf import session_settings
from ..errors import ApiError, StoreUnavailable
from ..metrics import REDIS_LATENCY
from ..models import Session
from .audit import database_call, session_is_expired, session_load, session_render
from .breaker import CircuitBreaker
from .connection import CONNECTION_ERRORS
from .hot import RedisHotCopy
from .record import HotRecord, Tombstone, epoch_ms

logger = logging.getLogger("sessions_api.store")

REPAIR_BATCH = 500


class SessionStore:
    def __init__(self):
        self.hot = RedisHotCopy()
        self.redis_breaker = CircuitBreaker("redis", session_settings.BREAKER_COOLDOWN)
        # Revocations this process could only record in Redis (the database was down). If
        # Redis then becomes unreachable too, the database fallback must still refuse them.
        self.revoked_outside_database: dict[str, int] = {}

    # Redis calls go through here: the breaker, and a repair pass when Redis comes back.

    def redis(self, fn, *args, **kwargs):
        if not self.redis_breaker.allows_call():
            raise StoreUnavailable("redis")
        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except CONNECTION_ERRORS as error:
            self.redis_breaker.record_failure(error)
            raise StoreUnavailable("redis", error) from error
        finally:
            REDIS_LATENCY.observe(time.perf_counter() - started)
        if self.redis_breaker.record_success():
            # Redis is back, possibly with copies older than what changed meanwhile: nothing
            # is served from it until those are repaired, which needs the database too.
            try:
                self.repair()
            except (StoreUnavailable, *CONNECTION_ERRORS) as error:
                self.redis_breaker.record_failure(error)
                raise StoreUnavailable("redis", error) from error
            result = fn(*args, **kwargs)
        return result

    def redis_available(self) -> bool:
        return self.redis_breaker.allows_call()

    @staticmethod
    def fallback_allowed() -> bool:
        return session_settings.STORE_FALLBACK == "postgres"

    # Reads.

    def read(self, token_hash: str) -> HotRecord:
        """The live session of a token, or an ``ApiError`` saying why there is none."""
        try:
            found = self.redis(self.hot.touch, token_hash)
        except StoreUnavailable:
            if not self.fallback_allowed():
                raise
            return self._read_from_database(token_hash)
        if isinstance(found, Tombstone):
            raise ApiError("session_revoked", "This session has been revoked.")
        if found is None:
            return self._restore(token_hash)
        if found.is_expired(self.hot.clock(), session_settings.IDLE_TIMEOUT * 1000):
            raise ApiError("session_expired", "This session has expired; sign in again.")
        return found

    def _live_row(self, token_hash: str) -> Session:
        session = database_call(session_load, token_hash)
        if session is None:
            raise ApiError("session_invalid", "No such session.")
        if session.revoked_at is not None:
            raise ApiError("session_revoked", "This session has been revoked.")
        if session_is_expired(session, datetime.now(UTC), session_settings.IDLE_TIMEOUT):
            raise ApiError("session_expired", "This session has expired; sign in again.")
        return session

    def _restore(self, token_hash: str) -> HotRecord:
        """Redis lost the session: bring it back from the audit copy if it is alive there."""
        try:
            session = self._live_row(token_hash)
        except ApiError as error:
            if error.code in {"session_revoked", "session_expired"}:
                self._bury_quietly(token_hash, error.code.removeprefix("session_"))
            raise
        record = database_call(session_render, session)
        if self.redis(self.hot.put, token_hash, record, mode="new"):
            self.redis(self.hot.index_add, record.account_id, record.session_id, token_hash)
            logger.info("session restored from the audit copy",
                        extra={"session_id": record.session_id})
            return record
        return self.read(token_hash)  # someone else wrote it meanwhile: read theirs

    def _read_from_database(self, token_hash: str) -> HotRecord:
        if token_hash in self.revoked_outside_database:
            raise ApiError("session_revoked", "This session has been revoked.")
        session = self._live_row(token_hash)
        now = datetime.now(UTC)
        idle_age = (now - session.last_activity_at).total_seconds()
        if idle_age >= session_settings.activity_write_interval:
            database_call(
                Session.objects.filter(pk=session.pk, last_activity_at__lt=now).update,
                last_activity_at=now,
            )
            session.last_activity_at = now
        return database_call(session_render, session)

    def _bury_quietly(self, token_hash: str, reason: str) -> None:
        until = self.hot.clock() + session_settings.ABSOLUTE_TIMEOUT * 1000
        with contextlib.suppress(StoreUnavailable):
            self.redis(self.hot.bury, token_hash, reason, until)

    # Writes. The database row is written first by the services; these bring Redis in line.

    def ensure_writable(self) -> None:
        """With the ``closed`` fallback a write is refused up front while Redis is down."""
        if not self.fallback_allowed() and not self.redis_available():
            raise StoreUnavailable("redis")

    def publish_new(self, session: Session, record: HotRecord) -> None:
        try:
            self.redis(self.hot.put, session.token_hash, record, mode="new")
            self.redis(self.hot.index_add, record.account_id, record.session_id, session.token_hash)
        except StoreUnavailable:
            if not self.fallback_allowed():
                raise
            # Nothing to repair: the first read restores it from the audit copy.

    def publish(self, sessions: list[Session]) -> None:
        """Bring the hot copies of changed sessions in line with their audit rows."""
        stale = []
        for session in sessions:
            try:
                record = session_render(session)
                self.redis(self.hot.put, session.token_hash, record, mode="replace")
            except StoreUnavailable:
                stale.append(session.pk)
        if stale:
            self.mark_stale(stale)

    def bury(self, ref, reason: str) -> bool:
        """Kill a session in Redis at once. ``False`` when Redis could not be reached."""
        try:
            self.redis(self.hot.bury, ref.token_hash, reason, ref.absolute_deadline_ms)
            self.redis(self.hot.index_remove, ref.account_id, ref.session_id)
        except StoreUnavailable:
            return False
        return True

    def mark_stale(self, session_ids) -> None:
        database_call(Session.objects.filter(pk__in=list(session_ids)).update, hot_copy_stale=True)

    # Recovery.

    def repair(self) -> int:
        """Rewrite the hot copy of every session changed while Redis was unreachable."""
        return database_call(self._repair)

    def _repair(self) -> int:
        repaired = 0
        now = datetime.now(UTC)
        while True:
            batch = list(
                Session.objects.select_related("account", "tenant")
                .filter(hot_copy_stale=True)
                .order_by("pk")[:REPAIR_BATCH]
            )
            if not batch:
                break
            for session in batch:
                self._repair_one(session, now)
            with transaction.atomic():
                Session.objects.filter(pk__in=[s.pk for s in batch]).update(
                    hot_copy_stale=False, retired_token_hashes=[])
            repaired += len(batch)
        if repaired:
            logger.warning("hot copy repaired after an outage", extra={"sessions": repaired})
        return repaired

    def _repair_one(self, session: Session, now: datetime) -> None:
        for retired in session.retired_token_hashes:
            self.hot.bury(retired, "rotated", epoch_ms(session.absolute_expires_at))
        if session.revoked_at is not None or session_is_expired(
            session, now, session_settings.IDLE_TIMEOUT
        ):
            reason = session.revoke_reason or "expired"
            self.hot.bury(session.token_hash, reason, epoch_ms(session.absolute_expires_at))
            self.hot.index_remove(str(session.account_id), str(session.pk))
        else:
            self.hot.put(session.token_hash, session_render(session), mode="upsert")
            self.hot.index_add(str(session.account_id), str(session.pk), session.token_hash)

    # The outbox: audit events of revocations made while the database was down.

    def outbox_push(self, entry: dict, *, token_hash: str, until_ms: int) -> None:
        self.redis(self.hot.client.rpush, self.hot.outbox_key(), json.dumps(entry))
        now = self.hot.clock()
        for known, until in list(self.revoked_outside_database.items()):
            if until < now:
                del self.revoked_outside_database[known]
        self.revoked_outside_database[token_hash] = until_ms

    def outbox_pop(self, count: int) -> list[str]:
        return self.redis(self.hot.client.lpop, self.hot.outbox_key(), count) or []

    def outbox_return(self, entries: list[str]) -> None:
        if entries:
            self.redis(self.hot.client.rpush, self.hot.outbox_key(), *entries)


session_store = SessionStore()
