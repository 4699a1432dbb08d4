"""Logout means logout, whatever Redis does: the store as ``make serve`` runs it (gunicorn,
three workers) against a redis-server of the test's own that it restarts from an older
snapshot, fills up, turns into a replica, cuts off. Each check is made over several calls,
so that every worker answers it."""

import time

import pytest
from django.db import connection

from .support.servers import RedisServer, TcpProxy
from .support.web import WebInstance, production_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_server():
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def web(redis_server, fake_auth0):
    instance = WebInstance(production_env(fake_auth0, redis_url=redis_server.url), workers=3)
    yield instance
    instance.stop()


def sign_in(web, fake_auth0, sub: str) -> str:
    return web.create(fake_auth0.token(sub, email=f"{sub[6:]}@example.com", name=sub[6:]))


def settle(web, token: str, expected: int, within: float = 5.0) -> float:
    """Call ``/current`` until every answer in a round is ``expected``; the time it took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if web.statuses(token) == {expected}:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not every worker answered {expected} within {within} s")


def test_a_restart_from_an_older_snapshot_brings_back_nothing_logged_out(web, redis_server,
                                                                         fake_auth0):
    out, changed, rotated = (sign_in(web, fake_auth0, f"auth0|{name}")
                             for name in ("ann", "bob", "cid"))
    redis_server.snapshot()
    assert web.logout(out) == 204
    assert web.update(changed, {"data": {"step": 2}})[0] == 200
    status, refreshed = web.call("POST", "/api/sessions/refresh/", auth=f"Session {rotated}",
                                 body={})
    assert status == 200

    redis_server.restart_from_snapshot()  # Redis now holds all three as they were before

    for _ in range(3):
        assert web.statuses(out) == {401}
        assert web.statuses(rotated) == {401}
        assert {web.current(changed)[1]["data"]["step"] for _ in range(12)} == {2}
        assert web.statuses(refreshed["token"]) == {200}
        time.sleep(0.7)  # across the breakers' cooldown: answers from Redis again, same
    # Traffic is back on Redis: the live session's copy was written there again.
    settle(web, changed, 200)
    assert redis_server.client().keys("ss:t:*")


def refusing_writes_then_healed(web, fake_auth0, refuse, heal) -> None:
    """While Redis refuses writes, logout still ends the session at once on every worker,
    create and update answer or 503 (never 500); once it takes writes again, the session stays
    ended and an acknowledged update is shown."""
    token, other = sign_in(web, fake_auth0, "auth0|ann"), sign_in(web, fake_auth0, "auth0|bob")
    refuse()
    try:
        assert web.logout(token) == 204
        assert web.statuses(token) == {401}
        assert web.statuses(other) == {200}
        status, _ = web.call("POST", "/api/sessions/create/",
                             auth=f"Bearer {fake_auth0.token('auth0|cid')}", body={})
        assert status in {201, 503}
        updated = web.update(other, {"data": {"at": "refused"}})[0]
        assert updated in {200, 503}
    finally:
        heal()
    settle(web, other, 200)
    assert web.statuses(token) == {401}
    shown = {web.current(other)[1]["data"].get("at") for _ in range(12)}
    assert shown == ({"refused"} if updated == 200 else {None})


def test_logout_at_maxmemory_still_kills_the_token(web, redis_server, fake_auth0):
    client = redis_server.client()

    def fill():  # every write is refused with OOM from now on; deletes are not
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", 1)

    refusing_writes_then_healed(web, fake_auth0, fill, lambda: client.config_set("maxmemory", 0))


def test_a_read_only_replica_is_a_store_error_for_every_worker(web, redis_server, fake_auth0):
    client = redis_server.client()
    refusing_writes_then_healed(  # a demoted primary: read-only, its old data kept
        web, fake_auth0, lambda: client.replicaof("127.0.0.1", 1),
        lambda: client.replicaof("NO", "ONE"))


@pytest.fixture
def cut_off(redis_server, fake_auth0):
    """Gunicorn (three workers) reaching Redis and PostgreSQL through proxies the test cuts."""
    redis_proxy = TcpProxy(redis_server.port)
    database_proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432))
    env = production_env(fake_auth0, redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
                         database_port=database_proxy.port, SESSION_REPAIR_LAG="0",
                         SESSION_BREAKER_COOLDOWN="1")
    instance = WebInstance(env, workers=3)
    yield instance, redis_proxy, database_proxy
    instance.stop()
    for proxy in (redis_proxy, database_proxy):
        proxy.close()


def test_after_a_repaired_redis_outage_a_database_outage_leaves_redis_serving(cut_off,
                                                                             fake_auth0):
    web, redis_proxy, database_proxy = cut_off
    live, out = sign_in(web, fake_auth0, "auth0|ann"), sign_in(web, fake_auth0, "auth0|bob")
    redis_proxy.cut()
    assert web.statuses(live, calls=36) == {200}  # every worker falls back to the audit copy
    assert web.logout(out) == 204  # recorded in the audit copy alone
    time.sleep(1.2)  # past the breakers' cooldown and the clock margin
    redis_proxy.restore()
    assert web.current(live)[0] == 200  # one worker recovers and repairs
    database_proxy.cut()
    try:
        assert web.statuses(live) == {200}
        assert web.statuses(out) == {401}
    finally:
        database_proxy.restore()


def test_a_change_one_instance_made_alone_reaches_redis_within_the_repair_lag(
        redis_server, fake_auth0):
    """A partition: instance A cannot reach Redis, B can. A logout made on A is recorded in the
    audit copy alone; B serves the old copy until a repair pass applies it."""
    proxy = TcpProxy(redis_server.port)
    lag = 1.0
    a = WebInstance(production_env(fake_auth0, redis_url=f"redis://127.0.0.1:{proxy.port}/0",
                                   SESSION_REPAIR_LAG=str(lag)))
    b = WebInstance(production_env(fake_auth0, redis_url=redis_server.url,
                                   SESSION_REPAIR_LAG=str(lag)))
    try:
        token = sign_in(b, fake_auth0, "auth0|ann")
        assert a.current(token)[0] == 200
        proxy.cut()
        assert a.logout(token) == 204
        cut_at = time.monotonic()
        while b.current(token)[0] == 200:
            assert time.monotonic() - cut_at < lag + 1.0, "B still serves the logged-out copy"
            time.sleep(0.05)
        assert b.statuses(token, calls=5) == {401}
    finally:
        for instance in (a, b):
            instance.stop()
        proxy.close()


def test_a_worker_that_never_met_the_refusal_still_refuses_the_logout(redis_server, fake_auth0):
    """At maxmemory a logout or an update made on one instance (whose breaker the refusal
    already opened) deletes the old copy, so another instance that made no call meanwhile,
    and whose repair lag is far away, does not serve it once Redis takes writes again."""
    env = production_env(fake_auth0, redis_url=redis_server.url, SESSION_REPAIR_LAG="3600")
    one, other = WebInstance(env), WebInstance(env)
    try:
        token, kept = sign_in(one, fake_auth0, "auth0|ann"), sign_in(one, fake_auth0, "auth0|bob")
        assert other.current(token)[0] == other.current(kept)[0] == 200  # both warmed up
        client = redis_server.client()
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", 1)
        assert one.current(kept)[0] == 200  # from the audit copy: the breaker is open now
        assert one.logout(token) == 204
        assert one.update(kept, {"data": {"at": "refused"}})[0] == 200
        client.config_set("maxmemory", 0)
        assert other.current(token)[1]["code"] == "session_revoked"
        assert other.current(kept)[1]["data"] == {"at": "refused"}
    finally:
        one.stop()
        other.stop()
