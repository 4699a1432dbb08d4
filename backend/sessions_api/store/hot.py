"""The Redis hot copy: one hash per session, keyed by the token's SHA-256.

Every operation touches a single key (or keys sharing a hash tag), so the same code runs on a
Redis Cluster. Writes are conditional, like Django's cache session backend: a session that was
revoked elsewhere is never brought back by a late write.
"""

import time

from ..conf import session_settings
from .connection import redis_client
from .record import HotRecord, Tombstone

# Keep an expired session's hash a little past its deadline, so a late call is told
# "expired" from Redis instead of falling through to the database.
EXPIRED_GRACE_MS = 60_000

# KEYS: session, activity set of its bucket. ARGV: now_ms, idle_ms, write_interval_ms, grace_ms.
# Reads the session and, when the idle deadline would move by more than the write interval,
# slides it: at most one write per interval, and always a single round trip.
_TOUCH = """
local f = redis.call('HMGET', KEYS[1], 'b', 'la', 'ax', 'r', 'id', 'u', 'p', 'sv', 'xv')
if f[4] then return {'r', f[4]} end
if not f[1] then return false end
local now, idle, every = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local la, ax = tonumber(f[2]), tonumber(f[3])
if now < ax and now < la + idle and now - la >= every then
  f[2] = ARGV[1]
  redis.call('HSET', KEYS[1], 'la', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.max(math.min(now + idle, ax) - now, 0) + tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[2], now, f[5])
end
return {'s', f[1], f[2], f[3], f[5], f[6], f[7], f[8], f[9]}
"""

# KEYS: session. ARGV: mode, now_ms, idle_ms, grace_ms, then field/value pairs.
# A tombstone is final and a newer copy is never overwritten, whatever the mode. "new": only
# when absent (create, restore); "replace": only over a live copy (update, fan-out);
# "upsert": either (repair after an outage).
_PUT = """
local mode, now, idle, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = redis.call('HMGET', KEYS[1], 'sv', 'xv', 'r', 'la')
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
local new = {}
for i = 1, #fields, 2 do new[fields[i]] = fields[i + 1] end
if cur[3] then return 0 end
if mode == 'new' and cur[1] then return 0 end
if mode == 'replace' and not cur[1] then return 0 end
if cur[1] and (tonumber(cur[1]) > tonumber(new['sv'])
              or tonumber(cur[2]) > tonumber(new['xv'])) then
  return 0
end
if cur[4] and tonumber(cur[4]) > tonumber(new['la']) then new['la'] = cur[4] end
redis.call('DEL', KEYS[1])
local flat = {}
for k, v in pairs(new) do flat[#flat + 1] = k; flat[#flat + 1] = v end
redis.call('HSET', KEYS[1], unpack(flat))
local deadline = math.min(tonumber(new['la']) + idle, tonumber(new['ax']))
redis.call('PEXPIRE', KEYS[1], math.max(deadline - now, 0) + grace)
return 1
"""

# KEYS: session. ARGV: reason, ttl_ms.
_BURY = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


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
        return f"{self._prefix()}:s:{{{token_hash[:2]}}}{token_hash}"

    def activity_key(self, bucket: str) -> str:
        return f"{self._prefix()}:a:{{{bucket}}}"

    def user_index_key(self, account_id: str) -> str:
        return f"{self._prefix()}:u:{{{account_id}}}"

    def outbox_key(self) -> str:
        return f"{self._prefix()}:outbox"

    # Reads.

    def touch(self, token_hash: str) -> HotRecord | Tombstone | None:
        # The hot path: each settings read and client lookup costs microseconds, so each is
        # done once here.
        client = self.client
        idle_ms = session_settings.IDLE_TIMEOUT * 1000
        every_ms = int(session_settings.activity_write_interval * 1000)
        prefix, bucket = self._prefix(), token_hash[:2]
        keys = [f"{prefix}:s:{{{bucket}}}{token_hash}", f"{prefix}:a:{{{bucket}}}"]
        reply = self._script(_TOUCH, client)(
            keys=keys, args=[self.clock(), idle_ms, every_ms, EXPIRED_GRACE_MS], client=client
        )
        if not reply:
            return None
        if reply[0] == "r":
            return Tombstone(reply[1])
        _, body, la, ax, session_id, account_id, user_pk, sv, xv = reply
        return HotRecord(
            session_id, account_id, user_pk, body, int(la), int(ax), int(sv), int(xv)
        )

    # Writes.

    def put(self, token_hash: str, record: HotRecord, *, mode: str, client=None) -> bool:
        """Write a session's hot copy; ``client`` may be a pipeline (bulk loads, benchmarks)."""
        fields = {
            "b": record.body,
            "la": record.last_activity_ms,
            "ax": record.absolute_deadline_ms,
            "id": record.session_id,
            "u": record.account_id,
            "p": record.user_pk,
            "sv": record.state_version,
            "xv": record.session_version,
        }
        args = [mode, self.clock(), session_settings.IDLE_TIMEOUT * 1000, EXPIRED_GRACE_MS]
        for name, value in fields.items():
            args += [name, value]
        return bool(self._script(_PUT)(keys=[self.session_key(token_hash)], args=args,
                                       client=client))

    def bury(self, token_hash: str, reason: str, until_ms: int) -> None:
        ttl = max(until_ms - self.clock(), 0) + EXPIRED_GRACE_MS
        self._script(_BURY)(keys=[self.session_key(token_hash)], args=[reason, ttl])

    def index_add(self, account_id: str, session_id: str, token_hash: str) -> None:
        self.client.hset(self.user_index_key(account_id), session_id, token_hash)

    def index_remove(self, account_id: str, session_id: str) -> None:
        self.client.hdel(self.user_index_key(account_id), session_id)

    def index_read(self, account_id: str) -> dict[str, str]:
        return self.client.hgetall(self.user_index_key(account_id))

    def ping(self) -> None:
        self.client.ping()
