"""The Redis client the session store uses: one per process, plain or cluster, short timeouts."""

import threading

import redis
from redis.exceptions import ClusterDownError
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from ..conf import session_settings

_clients: dict[tuple, redis.Redis | RedisCluster] = {}
_lock = threading.Lock()

CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, ClusterDownError)


def redis_client() -> redis.Redis | RedisCluster:
    """The shared client for the configured ``REDIS_URL`` (a new one when it changes)."""
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
