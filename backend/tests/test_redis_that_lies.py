"""Logout means logout, whatever Redis does: the store as ``make serve`` runs it (gunicorn,
three workers) against a redis-server of the test's own that it restarts from an older
snapshot, fills up, turns into a replica, cuts off. Each check is made over several calls,
so that every worker answers it."""

import time

import pytest

from .support.servers import RedisServer
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


def test_logout_at_maxmemory_still_kills_the_token(web, redis_server, fake_auth0):
    token, other = sign_in(web, fake_auth0, "auth0|ann"), sign_in(web, fake_auth0, "auth0|bob")
    client = redis_server.client()
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)  # every write is refused with OOM from now on
    try:
        assert web.logout(token) == 204
        assert web.statuses(token) == {401}
        assert web.statuses(other) == {200}
        status, _ = web.call("POST", "/api/sessions/create/",
                             auth=f"Bearer {fake_auth0.token('auth0|cid')}", body={})
        assert status in {201, 503}
        assert web.update(other, {"data": {"at": "oom"}})[0] in {200, 503}
    finally:
        client.config_set("maxmemory", 0)
    settle(web, other, 200)
    assert web.statuses(token) == {401}


def test_a_read_only_replica_is_a_store_error_for_every_worker(web, redis_server, fake_auth0):
    token, other = sign_in(web, fake_auth0, "auth0|ann"), sign_in(web, fake_auth0, "auth0|bob")
    client = redis_server.client()
    client.replicaof("127.0.0.1", 1)  # a demoted primary: read-only, its old data kept
    try:
        assert web.logout(token) == 204
        assert web.statuses(token) == {401}
        assert web.statuses(other) == {200}
        status, _ = web.call("POST", "/api/sessions/create/",
                             auth=f"Bearer {fake_auth0.token('auth0|cid')}", body={})
        assert status in {201, 503}
        updated = web.update(other, {"data": {"at": "replica"}})[0]
        assert updated in {200, 503}
    finally:
        client.replicaof("NO", "ONE")
    settle(web, other, 200)
    assert web.statuses(token) == {401}
    shown = {web.current(other)[1]["data"].get("at") for _ in range(12)}
    assert shown == ({"replica"} if updated == 200 else {None})
