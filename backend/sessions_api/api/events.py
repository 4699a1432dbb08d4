"""``GET /api/sessions/events/``: the session's changes as server-sent events (SPEC section 12).

An async view, served by the ASGI process (``config/asgi.py``, ``make events``), so an open
stream holds a coroutine and a pub/sub subscription, never a web worker. The store announces
every change of a user's sessions on the user's channel (``hot.announce``); on a message naming
this session, and at every heartbeat, the stream re-reads the session's hot copy without
touching it and says what changed. A message lost (Redis restarted, a publish that failed)
costs at most one heartbeat. When the subscription breaks, the stream re-checks the session,
says how it ended if it did, and closes: the client reconnects and subscribes again.
"""

import asyncio
import contextlib
import json
import time
import uuid

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel

from ..conf import session_settings
from ..errors import ApiError, StoreUnavailable, problem_response, store_unavailable
from ..models import RevokeReason
from ..store import Ended, session_store
from ..store.audit import database_call, session_load
from ..store.connection import CONNECTION_ERRORS
from ..store.hot import events_channel
from ..store.record import HotRecord, Tombstone
from .authentication import SessionContext, session_authenticate_request

_hubs: dict[tuple, "Subscriptions"] = {}


def subscriptions() -> "Subscriptions":
    """The subscriptions of this event loop, on the store's Redis."""
    s = session_settings
    key = (id(asyncio.get_running_loop()), s.REDIS_URL, s.REDIS_CLUSTER,
           tuple(s.REDIS_SENTINELS), s.REDIS_SENTINEL_MASTER)
    hub = _hubs.get(key)
    if hub is None:
        hub = _hubs[key] = Subscriptions(_connect())
    return hub


def _connect() -> aioredis.Redis | RedisCluster:
    s = session_settings
    # No socket timeout: a subscription waits for messages as long as a heartbeat.
    options = {"decode_responses": True, "socket_connect_timeout": s.REDIS_CONNECT_TIMEOUT,
               "health_check_interval": 0}
    if s.REDIS_CLUSTER:
        return RedisCluster.from_url(s.REDIS_URL, **options)
    if s.REDIS_SENTINELS:
        sentinels = [(host, int(port)) for host, _, port in
                     (item.rpartition(":") for item in s.REDIS_SENTINELS)]
        return Sentinel(sentinels, **options).master_for(s.REDIS_SENTINEL_MASTER)
    return aioredis.Redis.from_url(s.REDIS_URL, **options)


BROKEN = object()  # what a stream's queue receives when the subscription broke


class Subscriptions:
    """One pub/sub connection per process for all its open streams: a user's channel is
    subscribed while one of its streams is open, and each message is handed to the queues
    of that channel's streams. A broken connection is reported to every stream (each
    re-checks its session and ends); the next stream opened subscribes afresh."""

    def __init__(self, client):
        self.client = client
        self.cluster = isinstance(client, RedisCluster)
        self.pubsub = None
        self.reader = None
        self.queues: dict[str, set[asyncio.Queue]] = {}
        self.leaving: set[asyncio.Task] = set()

    async def join(self, channel: str, queue: asyncio.Queue) -> None:
        first = channel not in self.queues
        self.queues.setdefault(channel, set()).add(queue)
        if not first:
            return
        if self.pubsub is None:
            self.pubsub = self.client.pubsub()
        try:
            if self.cluster:
                await self.pubsub.ssubscribe(channel)
            else:
                await self.pubsub.subscribe(channel)
        except BaseException:
            self._forget(channel, queue)
            raise
        if self.reader is None:
            self.reader = asyncio.get_running_loop().create_task(self._read(self.pubsub))

    def _forget(self, channel: str, queue: asyncio.Queue) -> bool:
        queues = self.queues.get(channel)
        if queues is None:
            return False
        queues.discard(queue)
        if queues:
            return False
        del self.queues[channel]
        return True

    def leave(self, channel: str, queue: asyncio.Queue) -> None:
        if self._forget(channel, queue) and self.pubsub is not None:
            self.later(self._unsubscribe(self.pubsub, channel))

    def later(self, call) -> None:
        """Runs a Redis call in the background (bounded): a stream ends without waiting on
        Redis."""
        async def bounded():
            with contextlib.suppress(TimeoutError, *CONNECTION_ERRORS):
                await asyncio.wait_for(call, timeout=5)

        task = asyncio.get_running_loop().create_task(bounded())
        self.leaving.add(task)
        task.add_done_callback(self.leaving.discard)

    async def _unsubscribe(self, pubsub, channel: str) -> None:
        if self.cluster:
            await pubsub.sunsubscribe(channel)
        else:
            await pubsub.unsubscribe(channel)

    async def _read(self, pubsub) -> None:
        try:
            while True:
                if self.cluster:
                    message = await pubsub.get_sharded_message(ignore_subscribe_messages=True,
                                                               timeout=1.0)
                else:
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=1.0)
                if message is not None:
                    for queue in self.queues.get(message["channel"], ()):
                        queue.put_nowait(message["data"])
        except CONNECTION_ERRORS:
            broken, self.queues = self.queues, {}
            self.pubsub = self.reader = None
            for queues in broken.values():
                for queue in queues:
                    queue.put_nowait(BROKEN)
            with contextlib.suppress(*CONNECTION_ERRORS):
                await pubsub.aclose()


def _ending(found) -> str | None:
    """The event that ends a stream, from the tombstone's reason or the store's verdict."""
    if isinstance(found, Tombstone):
        if found.reason == "rotated":
            return _event("session.rotated", {})
        if found.reason == "expired":
            return _event("session.expired", {})
        return _event("session.revoked", {"reason": found.reason})
    if isinstance(found, Ended):
        if found.why == "expired":
            return _event("session.expired", {})
        return _event("session.revoked", {"reason": None})
    return None


def session_state(token_hash: str) -> HotRecord | Tombstone | Ended | None:
    """The session as the hot copy holds it, read without touching it (a stream is no
    activity); a copy Redis lost, or a Redis that does not answer, goes through the store's
    own read (restore, or the audit copy). ``None``: no store can tell now."""
    try:
        found = session_store.session_call(session_store.hot.peek_many, [token_hash])[0]
    except StoreUnavailable:
        found = None
    if found is None:
        try:
            found = session_store.read(token_hash)
            if found in (Ended("revoked"), Ended("unknown")):
                found = Tombstone(_revoke_reason(token_hash))
        except StoreUnavailable:
            return None
    if isinstance(found, HotRecord) and found.is_expired(
            session_store.hot.clock(), session_settings.IDLE_TIMEOUT * 1000):
        return Ended("expired")
    return found


def _revoke_reason(token_hash: str) -> str | None:
    """Why the audit copy says the session was revoked (its stream ends: one query)."""
    session = database_call(session_load, token_hash)
    if session is None:
        return RevokeReason.ROTATED  # the row moved on to its new token
    return session.revoke_reason


def _event(name: str, data: dict | str) -> str:
    return f"event: {name}\ndata: {data if isinstance(data, str) else json.dumps(data)}\n\n"


# KEYS: the session's slots. ARGV: now_ms, lapse_at_ms, member, ttl_ms. Drops lapsed slots,
# adds this one, returns how many are open.
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
"""


class StreamSlots:
    """The open streams of one session, on every instance: a sorted set of stream ids scored
    by when each lapses unless its heartbeat renews it (a crashed process frees its slots)."""

    def __init__(self, client, token_hash: str):
        self.client = client
        self.key = f"{session_settings.REDIS_KEY_PREFIX}:es:{{{token_hash[:2]}}}{token_hash}"
        self.member = uuid.uuid4().hex
        self.lapse_ms = int(session_settings.EVENTS_HEARTBEAT * 3000)

    async def claim(self) -> bool:
        now = int(time.time() * 1000)
        count = await self.client.eval(_CLAIM, 1, self.key, now, now + self.lapse_ms,
                                       self.member, self.lapse_ms)
        if count > session_settings.EVENTS_MAX_STREAMS:
            await self.release()
            return False
        return True

    async def renew(self) -> None:
        now = int(time.time() * 1000)
        await self.client.zadd(self.key, {self.member: now + self.lapse_ms})
        await self.client.pexpire(self.key, self.lapse_ms)

    async def release(self) -> None:
        await self.client.zrem(self.key, self.member)


async def session_events(request):
    if request.method != "GET":
        return problem_response(ApiError("method_not_allowed", "The event stream is GET only."))
    try:
        context = await sync_to_async(session_authenticate_request)(request)
        if context is None:
            raise ApiError("session_missing", "This call needs Authorization: Session <token>.")
        hub = subscriptions()
        slots = StreamSlots(hub.client, context.token_hash)
        if not await slots.claim():
            raise ApiError("rate_limited", "Too many open event streams for this session.",
                           headers={"Retry-After": str(int(session_settings.EVENTS_HEARTBEAT))})
    except ApiError as error:
        return problem_response(error)
    except (StoreUnavailable, *CONNECTION_ERRORS):
        return problem_response(store_unavailable())
    request.auth = context  # the access log names the session
    response = StreamingHttpResponse(_stream(hub, slots, context),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


async def _stream(hub: Subscriptions, slots: StreamSlots, context: SessionContext):
    record = context.record
    channel = events_channel(session_settings.REDIS_KEY_PREFIX, record.account_id)
    queue = asyncio.Queue()
    heartbeat = session_settings.EVENTS_HEARTBEAT
    idle_ms = session_settings.IDLE_TIMEOUT * 1000
    try:
        await hub.join(channel, queue)
        yield ": open\n\n"
        # A change made between the authentication and the subscription has no message
        # left for this stream: look once now that the subscription stands.
        check = True
        beat_at = time.monotonic() + heartbeat
        while True:
            if check:
                found = await sync_to_async(session_state)(context.token_hash)
                if found is None:
                    return  # no store answers: the client reconnects, backing off
                if ending := _ending(found):
                    yield ending
                    return
                if found.body != record.body:
                    record = found
                    yield _event("session.updated", found.to_json(idle_ms))
            if time.monotonic() >= beat_at:
                beat_at = time.monotonic() + heartbeat
                with contextlib.suppress(*CONNECTION_ERRORS):
                    await slots.renew()  # a Redis that does not answer breaks the reader
                yield ": heartbeat\n\n"
            try:
                message = await asyncio.wait_for(queue.get(),
                                                 max(beat_at - time.monotonic(), 0))
            except TimeoutError:
                message = None
            if message is BROKEN:
                # The subscription broke (Redis restarted, failed over): what happened
                # meanwhile is read from the store, then the client subscribes again.
                found = await sync_to_async(session_state)(context.token_hash)
                if found is not None and (ending := _ending(found)):
                    yield ending
                return
            check = message == record.session_id or time.monotonic() >= beat_at
    finally:
        hub.leave(channel, queue)
        hub.later(slots.release())  # a slot not released lapses on its own
