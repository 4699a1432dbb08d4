"""The Redis hot copy: one string per session, keyed by the token's SHA-256.

The value is the public JSON, a newline and a short header (``HotRecord.hot_value``); a
revoked session's is ``!reason``. A string costs far less memory than a hash of the same
fields (one allocation instead of a dictionary), which keeps a session under 1 KB.

Every operation touches a single key (or keys sharing a hash tag), so the same code runs on a
Redis Cluster. Writes are conditional, like Django's cache session backend: a session that was
revoked elsewhere is never brought back by a late write.
"""

import time

from redis.exceptions import OutOfMemoryError

from ..conf import session_settings
from .connection import hot_path_client, redis_client
from .record import TOMBSTONE_MARK, HotRecord, Tombstone, hot_value_parse

# Keep an expired session's value a little past its deadline, so a late call is told
# "expired" from Redis instead of falling through to the database.
EXPIRED_GRACE_MS = 60_000

# Shared by the scripts: the header of a value (``HotRecord.hot_value``) and the value with
# another last activity. A tombstone starts with "!" (``TOMBSTONE_MARK``).
_HEADER = """
local function header(v)
  local nl = string.find(v, '\\n', 1, true)
  local la, ax, sv, xv, id = string.match(v, '^(%d+) (%d+) (%d+) (%d+) (%S+)', nl + 1)
  return nl, tonumber(la), tonumber(ax), tonumber(sv), tonumber(xv), id
end
local function with_last_activity(v, nl, la)
  local rest = string.find(v, ' ', nl + 1, true)
  return string.sub(v, 1, nl) .. string.format('%.0f', la) .. string.sub(v, rest)
end
"""

# Every script starts with a shebang (Redis 7): it declares that it may write, so a read-only
# replica or a Redis at maxmemory refuses it at once, before it runs, and the store answers
# from the audit copy instead of serving what such a node holds.
_MAY_WRITE = "#!lua\n"

# KEYS: session, activity set of its bucket. ARGV: now_ms, idle_ms, write_interval_ms, grace_ms.
# Reads the session and, when the idle deadline would move by more than the write interval,
# slides it: at most one write per interval, and always a single round trip.
_TOUCH = _MAY_WRITE + _HEADER + """
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 1) == '!' then return v end
local nl, la, ax, _, _, id = header(v)
local now, idle, every = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if now < ax and now < la + idle and now - la >= every then
  v = with_last_activity(v, nl, now)
  redis.call('SET', KEYS[1], v, 'PX',
             math.max(math.min(now + idle, ax) - now, 0) + tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[2], now, id)
end
return v
"""

# KEYS: session. ARGV: mode, now_ms, idle_ms, grace_ms, value.
# A tombstone is final and a newer copy is never overwritten, whatever the mode. "new": only
# when absent (create, restore); "replace": only over a live copy (update, fan-out);
# "upsert": either (repair after an outage). A newer last activity already there is kept.
_PUT = _MAY_WRITE + _HEADER + """
local mode, now, idle, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local value = ARGV[5]
local nl, la, ax, sv, xv = header(value)
local cur = redis.call('GET', KEYS[1])
if cur then
  if string.sub(cur, 1, 1) == '!' or mode == 'new' then return 0 end
  local _, cur_la, _, cur_sv, cur_xv = header(cur)
  if cur_sv > sv or cur_xv > xv then return 0 end
  if cur_la > la then
    la = cur_la
    value = with_last_activity(value, nl, la)
  end
elseif mode == 'replace' then
  return 0
end
redis.call('SET', KEYS[1], value, 'PX', math.max(math.min(la + idle, ax) - now, 0) + grace)
return 1
"""


def _session_key(prefix: str, token_hash: str) -> str:
    return f"{prefix}:t:{{{token_hash[:2]}}}{token_hash}"


def _activity_key(prefix: str, bucket: str) -> str:
    return f"{prefix}:a:{{{bucket}}}"


def events_channel(prefix: str, account_id: str) -> str:
    return f"{prefix}:ev:{{{account_id}}}"


def _now_ms() -> int:
    return int(time.time() * 1000)


class RedisHotCopy:
    clock = staticmethod(_now_ms)

    def __init__(self):
        self._scripts = {}

    @property
    def client(self):
        return redis_client()

    def _script(self, source: str, client=None):
        client = client or self.client
        key = (id(client), source)
        script = self._scripts.get(key)
        if script is None:
            script = self._scripts[key] = client.register_script(source)
        return script

    # Keys. The {bucket} hash tag pins a session and its activity set to one cluster slot.

    def _prefix(self) -> str:
        return session_settings.REDIS_KEY_PREFIX

    def session_key(self, token_hash: str) -> str:
        return _session_key(self._prefix(), token_hash)

    def activity_key(self, bucket: str) -> str:
        return _activity_key(self._prefix(), bucket)

    def user_index_key(self, account_id: str) -> str:
        return f"{self._prefix()}:u:{{{account_id}}}"

    def events_channel(self, account_id: str) -> str:
        """Where a user's session changes are announced; the hash tag is the user index's,
        so on a Redis Cluster the channel is sharded (``SPUBLISH``) to that slot."""
        return events_channel(self._prefix(), account_id)

    def outbox_key(self) -> str:
        return f"{self._prefix()}:outbox"

    def repaired_key(self) -> str:
        return f"{self._prefix()}:repaired"

    # Reads.

    def touch(self, token_hash: str) -> HotRecord | Tombstone | None:
        # The hot path: each settings read and client lookup costs microseconds, so each is
        # done once here; the script is the shared client's, sent on this thread's connection.
        client = hot_path_client()
        idle_ms = session_settings.IDLE_TIMEOUT * 1000
        every_ms = int(session_settings.activity_write_interval * 1000)
        prefix = self._prefix()
        keys = [_session_key(prefix, token_hash), _activity_key(prefix, token_hash[:2])]
        return hot_value_parse(self._script(_TOUCH)(
            keys=keys, args=[self.clock(), idle_ms, every_ms, EXPIRED_GRACE_MS], client=client
        ))

    def peek_many(self, token_hashes: list[str]) -> list[HotRecord | Tombstone | None]:
        """Each session as Redis holds it, in one round trip, without touching it."""
        pipeline = self.client.pipeline(transaction=False)
        for token_hash in token_hashes:
            pipeline.get(self.session_key(token_hash))
        return [hot_value_parse(value) for value in pipeline.execute()]

    # Writes.

    def put(self, token_hash: str, record: HotRecord, *, mode: str, client=None) -> bool:
        """Write a session's hot copy; ``client`` may be a pipeline (bulk loads, benchmarks)."""
        args = [mode, self.clock(), session_settings.IDLE_TIMEOUT * 1000, EXPIRED_GRACE_MS,
                record.hot_value()]
        return bool(self._script(_PUT)(keys=[self.session_key(token_hash)], args=args,
                                       client=client))

    def bury(self, token_hash: str, reason: str, until_ms: int) -> None:
        """Replace the session with its tombstone, kept until it would have ended anyway."""
        ttl = max(until_ms - self.clock(), 0) + EXPIRED_GRACE_MS
        try:
            self.client.set(self.session_key(token_hash), TOMBSTONE_MARK + reason, px=ttl)
        except OutOfMemoryError:
            # At maxmemory Redis refuses the tombstone but not a delete: the copy is gone at
            # once, the next read asks the audit copy, and the caller marks the row so the
            # tombstone is written once Redis has room.
            self.drop(token_hash)
            raise

    def drop(self, token_hash: str) -> None:
        """Delete the session's copy (Redis takes a delete even at maxmemory)."""
        self.client.delete(self.session_key(token_hash))

    def announce(self, account_id: str, session_id: str) -> None:
        """Tell the event streams of the user that this session changed (the message names
        the session; each stream re-reads its own)."""
        client = self.client
        channel = self.events_channel(account_id)
        if session_settings.REDIS_CLUSTER:
            client.spublish(channel, session_id)
        else:
            client.publish(channel, session_id)

    def index_add(self, account_id: str, session_id: str, token_hash: str) -> None:
        self.client.hset(self.user_index_key(account_id), session_id, token_hash)

    def index_remove(self, account_id: str, session_id: str) -> None:
        self.client.hdel(self.user_index_key(account_id), session_id)

    def index_read(self, account_id: str) -> dict[str, str]:
        return self.client.hgetall(self.user_index_key(account_id))

    def ping(self) -> None:
        self.client.ping()

    def repaired_through(self) -> int:
        """Every change marked in the audit copy before this time (ms) is in Redis."""
        return int(self.client.get(self.repaired_key()) or 0)

    def repaired_through_set(self, moment_ms: int) -> None:
        self.client.set(self.repaired_key(), moment_ms)
