"""A Redis lock for periodic tasks, so two beat processes (or two workers given the same run)
never run one task twice at once. ``SET NX PX`` with a random token; released only by its
holder (compare and delete), and expiring by itself if the holder dies."""

import contextlib
import secrets

from ..conf import session_settings
from ..errors import StoreUnavailable
from ..store import session_store

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lock_key(name: str) -> str:
    return f"{session_settings.REDIS_KEY_PREFIX}:lock:{name}"


@contextlib.contextmanager
def task_lock(name: str, *, ttl_seconds: float):
    """Yields ``True`` when this caller holds the lock, ``False`` when someone else does."""
    client = session_store.hot.client
    key, token = lock_key(name), secrets.token_hex(16)
    held = bool(session_store.redis_call(client.set, key, token, nx=True,
                                         px=int(ttl_seconds * 1000)))
    try:
        yield held
    finally:
        if held:
            # A release that cannot reach Redis is harmless: the lock expires on its own.
            with contextlib.suppress(StoreUnavailable):
                session_store.redis_call(client.eval, _RELEASE, 1, key, token)
