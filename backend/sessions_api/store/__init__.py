"""One store in front of two copies: Redis (hot) and the database (audit, durable).

Reads come from Redis in one round trip. A miss is restored from the database; a revoked
session is never restored. While Redis cannot serve (down, refusing writes, a replica, or
not yet verified after a restart or failover: see ``incarnation.py``),
``SESSION_STORE_FALLBACK=postgres`` serves from the database and marks what changed so Redis
is repaired; ``closed`` answers ``store_unavailable``. A store error is never read as "no
session".

``read()`` says what it found; what that means for a request (``session_revoked`` and so on)
is the authentication layer's to decide.
"""

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from redis.exceptions import OutOfMemoryError, ReadOnlyError

from ..conf import session_settings
from ..errors import StoreUnavailable
from ..metrics import REDIS_LATENCY
from ..models import RevokeReason, Session
from .audit import database_call, session_load, session_render
from .breaker import CircuitBreaker
from .connection import CONNECTION_ERRORS, RedisIsReplica, disconnect_all
from .hot import RedisHotCopy
from .keeper import Keeper
from .record import HotRecord, Tombstone, epoch_ms

logger = logging.getLogger("sessions_api.store")

REPAIR_BATCH = 500
# Hosts' clocks may differ by this much: a repair counts for marks made before its start
# minus this margin.
CLOCK_MARGIN_MS = 1000


@dataclass(frozen=True, slots=True)
class Ended:
    """No live session for this token: ``revoked``, ``expired`` or ``unknown``."""

    why: str


class SessionStore:
    def __init__(self):
        self.hot = RedisHotCopy()
        self.redis_breaker = CircuitBreaker("redis")
        self.keeper = Keeper(self)
        # Revocations this process could only record in Redis (the database was down). If
        # Redis then becomes unreachable too, the database fallback must still refuse them.
        self.revoked_outside_database: dict[str, int] = {}
        # The last Redis failure was a refused write (maxmemory): deletes are still taken.
        self.refusing_writes = False
        # When this process last recorded a change in the audit copy alone (ms, 0: never
        # since it last saw all of them applied). Redis serves it again only once a repair
        # pass that began after that has finished.
        self.last_mark_ms = 0
        self._recovering = threading.Lock()

    def reset(self) -> None:
        """Forget every per-process state (tests, and a forked child)."""
        self.redis_breaker.reset()
        self.revoked_outside_database.clear()
        self.last_mark_ms = 0
        self.refusing_writes = False

    # Redis calls. ``session_call`` is for session data: after an outage it first makes
    # sure nothing this process changed meanwhile is still stale in Redis. ``redis_call``
    # is for everything else (rate limits, locks, figures): the same breaker, no recovery,
    # and it never closes the breaker, so a session call still recovers first.

    def session_call(self, fn, *args, **kwargs):
        self.keeper.ensure_running()
        if not self.redis_breaker.allows_call():
            raise StoreUnavailable("redis")
        if self.redis_breaker.tripped:
            self._recover()
        result = self._guarded(fn, *args, **kwargs)
        self.redis_breaker.record_success()
        return result

    def redis_call(self, fn, *args, **kwargs):
        if not self.redis_breaker.allows_call():
            raise StoreUnavailable("redis")
        return self._guarded(fn, *args, **kwargs)

    def _guarded(self, fn, *args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except CONNECTION_ERRORS as error:
            self._failed(error)
            raise StoreUnavailable("redis", error) from error
        finally:
            REDIS_LATENCY.observe(time.perf_counter() - started)

    def _failed(self, error: BaseException) -> None:
        self.redis_breaker.record_failure(error)
        self.refusing_writes = isinstance(error, OutOfMemoryError)
        if isinstance(error, (ReadOnlyError, RedisIsReplica)):
            # The node was demoted: the next connections must be checked again.
            disconnect_all()

    def _recover(self) -> None:
        """Redis answers again. Before it serves this process, what was recorded in the audit
        copy alone while it was away must be in Redis: a repair pass now (which needs the
        database), or, with the database down too, a pass recorded in Redis that began
        after this process's own last mark."""
        with self._recovering:
            if not self.redis_breaker.tripped:
                return
            self._guarded(self.hot.ping)
            try:
                # Waiting for rows another repair holds: it may not have written them yet,
                # and this process serves from Redis as soon as the pass returns.
                self.repair(wait=True)
            except StoreUnavailable as error:
                if error.store != "database":
                    raise  # Redis refused the repair's writes: it does not serve yet
                covered = self._guarded(self.hot.repaired_through) >= (
                    self.last_mark_ms + CLOCK_MARGIN_MS)
                if self.last_mark_ms and not covered:
                    self.redis_breaker.record_failure(RuntimeError("repair pending"))
                    raise
            self.last_mark_ms = 0
            self.redis_breaker.record_success()

    @staticmethod
    def fallback_allowed() -> bool:
        return session_settings.STORE_FALLBACK == "postgres"

    def redis_available(self) -> bool:
        return self.redis_breaker.allows_call()

    # Reads.

    def read(self, token_hash: str) -> HotRecord | Ended:
        """The live session of a token, or why there is none."""
        try:
            found = self.session_call(self.hot.touch, token_hash)
        except StoreUnavailable:
            if not self.fallback_allowed():
                raise
            return self._read_from_database(token_hash)
        if isinstance(found, Tombstone):  # an expired session's says so: the SDK renews it
            return Ended("expired" if found.reason == "expired" else "revoked")
        if found is None:
            return self._restore(token_hash)
        if found.is_expired(self.hot.clock(), session_settings.IDLE_TIMEOUT * 1000):
            return Ended("expired")
        return found

    def _audit_state(self, token_hash: str) -> Session | Ended:
        session = database_call(session_load, token_hash)
        if session is None:
            return Ended("unknown")
        if session.revoked_at is not None:
            return Ended("revoked")
        if session.is_expired(datetime.now(UTC)):
            return Ended("expired")
        return session

    def _restore(self, token_hash: str) -> HotRecord | Ended:
        """Redis lost the session: bring it back from the audit copy if it is alive there."""
        session = self._audit_state(token_hash)
        if isinstance(session, Ended):
            if session.why != "unknown":
                self._bury_quietly(token_hash, session.why)
            return session
        record = database_call(session_render, session)
        try:
            written = self.session_call(self.hot.put, token_hash, record, mode="new")
            if not written:
                return self.read(token_hash)  # someone else wrote it meanwhile: read theirs
            self.session_call(self.hot.index_add, record.account_id, record.session_id,
                              token_hash)
            self._recheck(session, record)
        except StoreUnavailable:
            if not self.fallback_allowed():
                raise
        logger.info("session restored from the audit copy",
                    extra={"session_id": record.session_id})
        return record

    def _recheck(self, session: Session, record: HotRecord) -> None:
        """A change committed while the copy was being written may have found no copy to
        update: read the row again, and publish what changed."""
        fresh = database_call(session_load, session.token_hash)
        if fresh is None or fresh.revoked_at is not None:
            reason = fresh.revoke_reason if fresh is not None else RevokeReason.ROTATED
            self.session_call(self.hot.bury, session.token_hash, reason or "expired",
                              record.absolute_deadline_ms)
        elif (fresh.version, fresh.account.state_version) != (
                record.session_version, record.state_version):
            self.session_call(self.hot.put, fresh.token_hash, database_call(session_render, fresh),
                              mode="replace")

    def _read_from_database(self, token_hash: str) -> HotRecord | Ended:
        if token_hash in self.revoked_outside_database:
            return Ended("revoked")
        session = self._audit_state(token_hash)
        if isinstance(session, Ended):
            return session
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
            self.session_call(self.hot.bury, token_hash, reason, until)

    # Writes. The database row is written first by the services; these bring Redis in line.

    def ensure_writable(self) -> None:
        """With the ``closed`` fallback a write is refused up front while Redis is down."""
        if not self.fallback_allowed() and not self.redis_available():
            raise StoreUnavailable("redis")

    def publish_new(self, session: Session, record: HotRecord, *, recheck: bool = False) -> None:
        """A new hot copy (create, rotation). Unreachable Redis: the first read restores it
        from the audit copy, so there is nothing to mark. ``recheck`` when the copy was
        rendered outside the user's lock (rotation): see ``_recheck``."""
        try:
            self.session_call(self.hot.put, session.token_hash, record, mode="new")
            self.session_call(self.hot.index_add, record.account_id, record.session_id,
                              session.token_hash)
            if recheck:
                self._recheck(session, record)
        except StoreUnavailable:
            if not self.fallback_allowed():
                raise

    def publish(self, sessions: list[Session]) -> None:
        """Bring the hot copies of changed sessions in line with their audit rows."""
        stale = []
        for session in sessions:
            try:
                record = session_render(session)
                self.session_call(self.hot.put, session.token_hash, record, mode="replace")
            except StoreUnavailable:
                stale.append(session.pk)
                self.drop_refused_copies([session.token_hash])
            else:
                self.announce(record.account_id, record.session_id)
        if stale:
            self.mark_stale(stale)

    def bury(self, ref, reason: str) -> bool:
        """Kill a session in Redis at once. ``False`` when Redis could not record it (the
        copy may still be gone: at maxmemory the tombstone is refused but the delete is
        not), so the caller marks the audit row for repair."""
        try:
            self.session_call(self.hot.bury, ref.token_hash, reason, ref.absolute_deadline_ms)
            self.session_call(self.hot.index_remove, ref.account_id, ref.session_id)
        except StoreUnavailable:
            self.drop_refused_copies([ref.token_hash])
            return False
        self.announce(ref.account_id, ref.session_id)
        return True

    def drop_refused_copies(self, token_hashes: list[str]) -> None:
        """Redis at maxmemory refused a change to these copies: delete them, with the breaker
        open too (a delete needs no memory, so Redis takes it). No worker then serves an old
        copy, not even one that has not met the refusal yet; the next read restores it from
        the audit copy. A Redis that is down or read-only refuses the delete as well: then
        the connection checks and the repair cover it, as for any outage."""
        if not self.refusing_writes:
            return
        with contextlib.suppress(StoreUnavailable):
            for token_hash in token_hashes:
                self._guarded(self.hot.drop, token_hash)

    def announce(self, account_id: str, session_id: str) -> None:
        """Best effort: an event stream that misses it finds the change at its next
        heartbeat's re-check."""
        with contextlib.suppress(StoreUnavailable):
            self.redis_call(self.hot.announce, account_id, session_id)

    def mark_stale(self, session_ids) -> None:
        database_call(Session.objects.filter(pk__in=list(session_ids)).update, hot_copy_stale=True)
        self.note_marked()

    def note_marked(self) -> None:
        """A change was recorded in the audit copy alone (``hot_copy_stale``)."""
        self.last_mark_ms = int(time.time() * 1000)

    # Repair: every change recorded in the audit copy alone reaches Redis.

    def repair(self, *, wait: bool = False) -> int:
        """Apply every stale row to Redis; returns how many. Each batch is claimed (row locks)
        and cleared only once applied, so a change recorded meanwhile waits for the claim and
        is applied by the next pass. Rows another repair holds are skipped (the keeper), or,
        with ``wait``, waited for: a recovering process must not serve from Redis before
        they are applied."""
        started_ms = int(time.time() * 1000)
        repaired = 0
        while batch_size := database_call(self._repair_batch, skip_locked=not wait):
            repaired += batch_size
        if not database_call(Session.objects.filter(hot_copy_stale=True).exists):
            self.redis_call(self.hot.repaired_through_set, started_ms)
        if repaired:
            logger.warning("hot copy repaired", extra={"sessions": repaired})
        return repaired

    def _repair_batch(self, *, skip_locked: bool) -> int:
        now = datetime.now(UTC)
        with transaction.atomic():
            batch = list(
                Session.objects.select_for_update(skip_locked=skip_locked, of=("self",))
                .select_related("account", "tenant")
                .filter(hot_copy_stale=True)
                .order_by("pk")[:REPAIR_BATCH]
            )
            for session in batch:
                self.redis_call(self._repair_one, session, now)
            Session.objects.filter(pk__in=[s.pk for s in batch]).update(
                hot_copy_stale=False, retired_token_hashes=[])
        return len(batch)

    def _repair_one(self, session: Session, now: datetime) -> None:
        until = epoch_ms(session.absolute_expires_at)
        for retired in session.retired_token_hashes:
            self.hot.bury(retired, RevokeReason.ROTATED, until)
        if session.revoked_at is not None or session.is_expired(now):
            self.hot.bury(session.token_hash, session.revoke_reason or "expired", until)
            self.hot.index_remove(str(session.account_id), str(session.pk))
        else:
            self.hot.put(session.token_hash, session_render(session), mode="upsert")
            self.hot.index_add(str(session.account_id), str(session.pk), session.token_hash)
        self.hot.announce(str(session.account_id), str(session.pk))


session_store = SessionStore()
