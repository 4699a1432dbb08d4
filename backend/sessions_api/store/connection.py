"""The Redis client the session store uses: one per process, plain or cluster, short timeouts."""

import threading

import redis
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ClusterDownError
from redis.retry import Retry

from ..conf import session_settings

_clients: dict[tuple, redis.Redis | RedisCluster] = {}
_lock = threading.Lock()

CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, ClusterDownError)


# The client for the settings in force, found without reading them again: the four reads cost
# ~10 us and this runs on every request. Changing ``SESSIONS_API`` (``override_settings``)
# forgets it; the environment variables are read when the client is first needed.
_current: list = []


@receiver(setting_changed)
def _forget_current(*, setting, **kwargs):
    if setting == "SESSIONS_API":
        _current.clear()


def redis_client() -> redis.Redis | RedisCluster:
    """The shared client for the configured ``REDIS_URL`` (a new one when ``SESSIONS_API``
    changes)."""
    if _current:
        return _current[0]
    key = (
        session_settings.REDIS_URL,
        bool(session_settings.REDIS_CLUSTER),
        session_settings.REDIS_CONNECT_TIMEOUT,
        session_settings.REDIS_SOCKET_TIMEOUT,
    )
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key) or _connect(*key)
            _clients[key] = client
    _current[:] = [client]
    return client


def _connect(url: str, cluster: bool, connect_timeout: float, socket_timeout: float):
    options = {
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": socket_timeout,
        "decode_responses": True,
    }
    if cluster:
        return RedisCluster.from_url(url, **options)
    # One immediate retry recovers a pooled connection that a Redis restart closed; more
    # would only multiply the time a dead Redis costs.
    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 1), **options)


def reset_clients() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        _current.clear()
