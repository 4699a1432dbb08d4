"""Is this Redis one whose data we can vouch for?

Redis can answer with less than it acknowledged: a restart from an RDB or AOF snapshot, a
failover to a replica that missed the last writes, a restore from backup. Each of them is a
new server process or a new replication history, so the pair ``run_id:master_replid`` names
what we talk to. The marker key holds that pair for the Redis whose data was verified.

Every new connection (``connection._CheckedConnection``) compares the two. On a mismatch the
connection is refused, the store answers from the audit copy (or ``503`` with the
``closed`` fallback) and one process verifies this Redis in the background: it drops every
live hot copy and index entry (each session is then rebuilt from the audit copy on its next
call, and a revoked, rotated or expired one is refused there; tombstones stay, since a
revocation is final), then writes the marker. A restart
or failover always breaks connections, so every worker sees the mismatch on its next call.
"""

import logging
import secrets
import threading

from ..conf import session_settings

logger = logging.getLogger("sessions_api.store")

LOCK_MS = 10_000
# A Redis with at most this many keys is verified on the connection that found it unverified.
INLINE_LIMIT = 10_000
_BATCH = 1000

# Unlinks each key but tombstones (values starting with "!").
_DROP_LIVE = """
local dropped = 0
for _, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value and string.sub(value, 1, 1) ~= '!' then
    redis.call('UNLINK', key)
    dropped = dropped + 1
  end
end
return dropped
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def marker_key() -> str:
    return f"{session_settings.REDIS_KEY_PREFIX}:incarnation"


def _identity(info: dict) -> str:
    return f"{info.get('run_id', '')}:{info.get('master_replid', '')}"


def _info_parse(text: str | dict) -> dict:
    if isinstance(text, dict):  # a client parses INFO itself; a bare connection does not
        return text
    pairs = (line.partition(":") for line in text.splitlines() if line and line[0] != "#")
    return {key: value.strip() for key, _, value in pairs}


def connection_facts(connection) -> tuple[str | None, str, str | None]:
    """The server's role, its identity and the marker, on a fresh connection (one round
    trip: both commands are sent before either answer is read)."""
    connection.send_command("INFO")
    connection.send_command("GET", marker_key())
    info = _info_parse(connection.read_response())
    marker = connection.read_response()
    return info.get("role"), _identity(info), marker


def verify(call) -> bool:
    """Drop every live hot copy and index entry of this Redis and mark it verified;
    ``call(*command)`` runs one Redis command. ``False`` when another process is verifying it
    right now. Tombstones stay: a revocation is final, so an old one is still true, and one
    made while the database was down is the only record of it until the outbox drains."""
    prefix = session_settings.REDIS_KEY_PREFIX
    lock, token = f"{prefix}:verifying", secrets.token_hex(8)
    if not call("SET", lock, token, "NX", "PX", LOCK_MS):
        return False
    try:
        identity = _identity(_info_parse(call("INFO")))
        if call("GET", marker_key()) == identity:
            return True  # verified by another process while this one waited
        dropped = 0
        # Session copies (all but tombstones), then the user indexes (rebuilt on restore).
        for pattern, drop in ((f"{prefix}:t:*", ("EVAL", _DROP_LIVE)), (f"{prefix}:u:*", None)):
            cursor = "0"
            while True:
                cursor, keys = call("SCAN", cursor, "MATCH", pattern, "COUNT", _BATCH)
                if keys:
                    dropped += call(*drop, len(keys), *keys) if drop else call("UNLINK", *keys)
                    call("PEXPIRE", lock, LOCK_MS)
                if cursor in ("0", 0, b"0"):
                    break
        call("SET", marker_key(), identity)
    finally:
        call("EVAL", _RELEASE, 1, lock, token)
    (logger.warning if dropped else logger.info)(
        "redis verified against the audit copy: its hot copies were dropped",
        extra={"keys": dropped})
    return True


def verify_on_connection(connection) -> bool:
    """Verify a small Redis at once, on the connection being checked (a fresh or test Redis
    costs no outage); a large one is left to ``verify_in_background``."""
    def call(*command):
        connection.send_command(*command)
        return connection.read_response()

    return call("DBSIZE") <= INLINE_LIMIT and verify(call)


_running = threading.Lock()


def verify_in_background(client_factory) -> None:
    """Start one verification in this process unless one is running."""
    if not _running.acquire(blocking=False):
        return

    def run():
        try:
            client = client_factory()
            verify(client.execute_command)
        except Exception as error:  # noqa: BLE001 - the next connection will try again
            logger.warning("redis verification failed", extra={"error": type(error).__name__})
        finally:
            _running.release()

    threading.Thread(target=run, name="redis-verify", daemon=True).start()
