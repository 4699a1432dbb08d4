"""The Redis client the session store uses: one per process, short timeouts, and a check of
every new connection.

Plain (``redis://``, ``rediss://``, ``unix://``), Redis Cluster (``REDIS_CLUSTER=1``) or the
current primary named by Redis Sentinel (``REDIS_SENTINELS``). A restart, a failover or a
restore always breaks the connections, so checking each new one is enough to notice a Redis
that may hold older data than it acknowledged (``incarnation.py``): until that Redis has
been verified, or while it is a replica, every connection to it is refused with one of the
errors below and the store answers from the audit copy.
"""

import os
import threading
from urllib.parse import urlsplit

import redis
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    TryAgainError,
)
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection, SentinelManagedSSLConnection

from ..conf import session_settings
from . import incarnation


class RedisUnverified(redis.RedisError):
    """This Redis may hold older data than it acknowledged (restarted from a snapshot, failed
    over, restored); it serves nothing until verified against the audit copy."""


class RedisIsReplica(redis.RedisError):
    """This Redis is a read-only replica: it cannot take the writes the store needs."""


# Errors that mean "the store cannot do this now": never "no session", never a 500. Refused
# writes are among them (maxmemory under noeviction, a read-only replica, a cluster slot
# moving), so a logout or a create on such a Redis answers from the audit copy.
CONNECTION_ERRORS = (
    redis.ConnectionError, redis.TimeoutError, ClusterDownError, MasterDownError,
    OutOfMemoryError, ReadOnlyError, TryAgainError, RedisUnverified, RedisIsReplica,
)


class _CheckedConnection:
    """Checks, once per new connection, that the server is a primary whose data was verified
    (``incarnation.py``)."""

    def on_connect_check_health(self, check_health: bool = True):
        super().on_connect_check_health(check_health=check_health)
        role, identity, marker = incarnation.connection_facts(self)
        if role != "master":
            raise RedisIsReplica("the store's Redis is a read-only replica")
        if marker != identity and not incarnation.verify_on_connection(self):
            incarnation.verify_in_background(unchecked_client)
            raise RedisUnverified("this Redis has not been verified against the audit copy")


def _checked(base: type) -> type:
    return type(f"Checked{base.__name__}", (_CheckedConnection, base), {})


_CHECKED = {
    base: _checked(base)
    for base in (redis.Connection, redis.SSLConnection, redis.UnixDomainSocketConnection,
                 SentinelManagedConnection, SentinelManagedSSLConnection)
}

_clients: dict[tuple, redis.Redis | RedisCluster] = {}
_lock = threading.Lock()

# The client for the settings in force, found without reading them again: the reads cost
# ~10 us and this runs on every request. Changing ``SESSIONS_API`` (``override_settings``)
# forgets it; the environment variables are read when the client is first needed.
_current: list = []


@receiver(setting_changed)
def _forget_current(*, setting, **kwargs):
    if setting == "SESSIONS_API":
        _current.clear()


def _settings_key() -> tuple:
    return (
        session_settings.REDIS_URL,
        bool(session_settings.REDIS_CLUSTER),
        tuple(session_settings.REDIS_SENTINELS),
        session_settings.REDIS_SENTINEL_MASTER,
        session_settings.REDIS_CONNECT_TIMEOUT,
        session_settings.REDIS_SOCKET_TIMEOUT,
    )


def redis_client() -> redis.Redis | RedisCluster:
    """The shared, checked client for the configured Redis."""
    if _current:
        return _current[0]
    client = _client_for((*_settings_key(), True))
    _current[:] = [client]
    return client


# Each thread's own connection for the hot path (``hot_path_client``).
_held = threading.local()


def hot_path_client() -> redis.Redis | RedisCluster:
    """The shared client's pool, with one connection held by this thread (redis-py's
    ``single_connection_client``): the hot path's one command skips the pool's checkout and
    return, and their poll of the socket, about a quarter of redis-py's cost per command
    (docs/performance.md). Connections are made, checked and retried as the pool's are; a
    cluster client is returned as it is."""
    shared = redis_client()
    if isinstance(shared, RedisCluster):
        return shared
    held = getattr(_held, "client", None)
    if held is None or held[0] is not shared or held[1] != os.getpid():
        if held is not None and held[1] == os.getpid():
            held[2].close()  # the settings changed: give the connection back to its pool
        client = redis.Redis(connection_pool=shared.connection_pool,
                             single_connection_client=True)
        held = _held.client = (shared, os.getpid(), client)
    return held[2]


def unchecked_client() -> redis.Redis | RedisCluster:
    """A client whose connections skip the check: only for verifying a Redis."""
    return _client_for((*_settings_key(), False))


def _client_for(key: tuple):
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key) or _connect(*key)
            _clients[key] = client
    return client


def _connect(url: str, cluster: bool, sentinels: list[str], master: str,
             connect_timeout: float, socket_timeout: float, checked: bool):
    options = {
        "socket_connect_timeout": connect_timeout,
        "socket_timeout": socket_timeout,
        "decode_responses": True,
    }
    if cluster:
        # A cluster's nodes are not checked: see docs/architecture.md, "Redis that lies".
        return RedisCluster.from_url(url, **options)
    # One immediate retry recovers a pooled connection that a Redis restart closed; more
    # would only multiply the time a dead Redis costs.
    options["retry"] = Retry(NoBackoff(), 1)
    parts = urlsplit(url)
    if sentinels:
        base = SentinelManagedSSLConnection if parts.scheme == "rediss" else \
            SentinelManagedConnection
        sentinel = Sentinel(
            [_host_port(item) for item in sentinels],
            sentinel_kwargs={"socket_connect_timeout": connect_timeout,
                             "socket_timeout": socket_timeout},
            password=parts.password, username=parts.username,
        )
        db = int(parts.path.strip("/") or 0)
        return sentinel.master_for(master, db=db, check_connection=False,
                                   connection_class=_CHECKED[base] if checked else base,
                                   **options)
    base = {"rediss": redis.SSLConnection, "unix": redis.UnixDomainSocketConnection}.get(
        parts.scheme, redis.Connection)
    if checked:
        options["connection_class"] = _CHECKED[base]
    return redis.Redis.from_url(url, **options)


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    return host.strip("[]"), int(port)


def disconnect_all() -> None:
    """Drop every pooled connection, so the next ones are checked again (after a refusal
    that says the server's role may have changed)."""
    for client in list(_clients.values()):
        if not isinstance(client, RedisCluster):
            client.connection_pool.disconnect()


def reset_clients() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        _current.clear()
