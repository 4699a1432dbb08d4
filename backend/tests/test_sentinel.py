"""Redis Sentinel: the store follows the current primary through a failover, and a replica
promoted after it missed the last writes serves nothing it missed. gunicorn with three
workers, a primary, a replica that replicates through a proxy the test stalls, and three
sentinels, all on loopback."""

import time

import pytest

from sessions_api.tokens import token_hash

from .support.servers import RedisServer, Sentinels, TcpProxy, wait_until
from .support.web import WebInstance, production_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def replicated():
    primary = RedisServer()
    link = TcpProxy(primary.port)
    replica = RedisServer("--replicaof", "127.0.0.1", str(link.port))
    wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up")
    sentinels = Sentinels(primary.port)
    yield primary, link, replica, sentinels
    sentinels.close()
    for server in (replica, primary):
        server.close()
    link.close()


def test_a_failover_to_a_replica_that_missed_a_logout_never_accepts_it(replicated, fake_auth0):
    primary, link, replica, sentinels = replicated
    web = WebInstance(production_env(
        fake_auth0, redis_url=f"redis://127.0.0.1:{primary.port}/0",
        REDIS_SENTINELS=sentinels.addresses, REDIS_SENTINEL_MASTER=sentinels.master,
        SESSION_BREAKER_COOLDOWN="0.5"), workers=3)
    try:
        live = web.create(fake_auth0.token("auth0|ann"))
        out = web.create(fake_auth0.token("auth0|bob"))
        changed = web.create(fake_auth0.token("auth0|cid"))
        wait_until(lambda: replica.client().keys("ss:t:*")
                       and len(replica.client().keys("ss:t:*")) == 3)
        link.stall()  # the replica hears nothing from now on
        assert web.logout(out) == 204
        assert web.update(changed, {"data": {"step": 2}})[0] == 200
        primary.stop()

        # The replica still holds the logged-out session as live: it missed the logout.
        missed = replica.client().get(f"ss:t:{{{token_hash(out)[:2]}}}{token_hash(out)}")
        assert missed and not missed.startswith("!")

        answers, started = [], time.monotonic()
        while sentinels.primary_port() != replica.port or time.monotonic() - started < 3:
            assert time.monotonic() - started < 30, "no failover within 30 s"
            for token in (live, out, changed):
                begun = time.monotonic()
                status, body = web.current(token)
                answers.append((token, status, body, time.monotonic() - begun))
            time.sleep(0.05)
        assert all(seconds < 1.5 for *_, seconds in answers), max(a[3] for a in answers)
        assert {status for token, status, _, _ in answers if token == out} == {401}
        assert {status for token, status, _, _ in answers if token == live} <= {200, 503}
        assert all(body["data"] == {"step": 2} for token, status, body, _ in answers
                   if token == changed and status == 200)

        deadline = time.monotonic() + 15
        while web.statuses(live) != {200}:
            assert time.monotonic() < deadline, "traffic did not return to the new primary"
            time.sleep(0.2)
        assert web.statuses(out) == {401}
        assert {web.current(changed)[1]["data"]["step"] for _ in range(12)} == {2}
        assert replica.client().keys("ss:t:*")  # answers come from the new primary again
    finally:
        web.stop()
