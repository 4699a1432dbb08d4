"""SPEC section 8 under failure, each case breaking a real service: a private redis-server
(flushed, evicted, restarted, partitioned behind a proxy) and PostgreSQL cut by a TCP proxy."""

import time

import pytest
from django.db import connection

from sessions_api.models import Account, Session, SessionEvent
from sessions_api.ops.activity import activity_flush
from sessions_api.services import account_state_publish, outbox_drain
from sessions_api.store import session_store

from .support.breakers import cooldown_passes

pytestmark = pytest.mark.django_db(transaction=True)


def body(response):
    return response.json()


# Redis loses data.

@pytest.mark.parametrize("loss", ["flush", "restart", "evict"])
def test_a_live_session_is_restored_after_redis_loses_it(api, own_redis, loss):
    token = api.create()["token"]
    api.update(token, {"needs_onboarding": False, "data": {"step": 2}})
    before = body(api.current(token))
    client = own_redis.client()
    if loss == "flush":
        client.flushdb()
    elif loss == "restart":
        own_redis.restart()
    else:
        client.delete(*client.keys("ss:t:*"))
    after = api.current(token)
    assert after.status_code == 200
    assert {k: v for k, v in body(after).items() if k != "last_activity_at"} | {"expires_at": 0} \
        == {k: v for k, v in before.items() if k != "last_activity_at"} | {"expires_at": 0}
    assert own_redis.client().keys("ss:t:*"), "the hot copy is back"


def test_restored_session_shows_current_user_state(api, own_redis):
    token = api.create()["token"]
    own_redis.client().flushdb()
    Account.objects.update(subscription_plan="pro", subscription_status="active", state_version=9)
    seen = body(api.current(token))
    assert (seen["subscription_plan"], seen["subscription_status"]) == ("pro", "active")


@pytest.mark.parametrize("loss", ["flush", "restart"])
def test_a_revoked_session_is_never_restored(api, own_redis, loss):
    token = api.create()["token"]
    api.logout(token)
    own_redis.client().flushdb() if loss == "flush" else own_redis.restart()
    response = api.current(token)
    assert response.status_code == 401
    assert body(response)["code"] == "session_revoked"


def test_an_expired_session_is_never_restored(api, own_redis, settings):
    token = api.create()["token"]
    Session.objects.update(absolute_expires_at="2000-01-01T00:00:00Z")
    own_redis.client().flushdb()
    assert body(api.current(token))["code"] == "session_expired"


# Redis down, fallback "postgres".

def test_current_answers_from_postgres_while_redis_is_down(api, own_redis):
    token = api.create()["token"]
    expected = body(api.current(token))
    own_redis.stop()
    response = api.current(token)
    assert response.status_code == 200
    assert body(response)["id"] == expected["id"]
    assert body(response)["user"] == expected["user"]


def test_a_dead_redis_costs_a_request_about_a_second_then_nothing(api, own_redis):
    token = api.create()["token"]
    own_redis.stop()
    started = time.monotonic()
    assert api.current(token).status_code == 200
    first = time.monotonic() - started
    started = time.monotonic()
    for _ in range(5):
        assert api.current(token).status_code == 200
    rest = time.monotonic() - started
    assert first < 1.5
    assert rest < 0.5, "the open circuit skips Redis instead of timing out again"


def test_create_update_logout_work_while_redis_is_down(api, own_redis):
    kept = api.create()["token"]
    own_redis.stop()
    token = api.create("auth0|bob")["token"]
    assert api.current(token).status_code == 200
    assert body(api.update(token, {"needs_onboarding": False}))["needs_onboarding"] is False
    assert api.logout(kept).status_code == 204
    assert body(api.current(kept))["code"] == "session_revoked"
    own_redis.start()
    cooldown_passes()
    assert body(api.current(token))["needs_onboarding"] is False
    assert body(api.current(kept))["code"] == "session_revoked"


def test_partition_heals_without_serving_stale_state(api, own_redis):
    """Redis kept its old data while we could not reach it: repaired before it serves."""
    alice = api.create()["token"]
    alice_other_tab = api.create()["token"]
    bob = api.create("auth0|bob")["token"]
    own_redis.proxy.cut()
    assert api.update(alice, {"needs_onboarding": False, "data": {"v": 2}}).status_code == 200
    assert api.logout(bob).status_code == 204
    own_redis.proxy.restore()
    cooldown_passes()
    assert body(api.current(alice))["data"] == {"v": 2}
    assert body(api.current(alice_other_tab))["needs_onboarding"] is False
    response = api.current(bob)
    assert response.status_code == 401 and body(response)["code"] == "session_revoked"
    assert not Session.objects.filter(hot_copy_stale=True).exists()


def test_the_repair_task_heals_a_partition_seen_by_another_instance(api, own_redis):
    alice = api.create()["token"]
    own_redis.proxy.cut()
    assert api.logout(alice).status_code == 204
    own_redis.proxy.restore()
    # This instance never saw the outage (a fresh breaker): the periodic repair fixes Redis.
    session_store.redis_breaker.tripped = False
    cooldown_passes()
    assert session_store.repair() == 1
    assert body(api.current(alice))["code"] == "session_revoked"


def test_closed_fallback_answers_store_unavailable(api, own_redis, settings, fake_auth0):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "STORE_FALLBACK": "closed"}
    token = api.create()["token"]
    own_redis.stop()
    for response in (api.current(token), api.update(token, {"needs_onboarding": False}),
                     api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token())):
        assert response.status_code == 503, response.content
        assert body(response)["code"] == "store_unavailable"
    assert Session.objects.count() == 1
    assert Account.objects.get().needs_onboarding is True


# PostgreSQL down.

def test_current_keeps_working_from_redis_while_postgres_is_down(api, database_proxy):
    token = api.create()["token"]
    database_proxy.cut()
    response = api.current(token)
    assert response.status_code == 200
    assert body(response)["user"]["auth0_sub"] == "auth0|alice"


def test_create_and_update_refuse_rather_than_lose_their_audit(api, database_proxy, fake_auth0):
    token = api.create()["token"]
    database_proxy.cut()
    created = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token("auth0|bob"))
    updated = api.update(token, {"needs_onboarding": False})
    for response in (created, updated):
        assert response.status_code == 503
        assert body(response)["code"] == "store_unavailable"
    database_proxy.restore()
    cooldown_passes()
    assert body(api.current(token))["needs_onboarding"] is True
    assert not Account.objects.filter(subject="auth0|bob").exists()


def test_logout_while_postgres_is_down_kills_at_once_and_is_audited_later(api, database_proxy):
    token = api.create()["token"]
    database_proxy.cut()
    assert api.logout(token).status_code == 204
    assert body(api.current(token))["code"] == "session_revoked"
    database_proxy.restore()
    cooldown_passes()
    assert outbox_drain() == 1
    session = Session.objects.get()
    assert session.revoke_reason == "logout"
    assert SessionEvent.objects.filter(kind="revoked", session=session).count() == 1
    assert outbox_drain() == 0


def test_a_miss_while_postgres_is_down_fails_closed(api, database_proxy, redis_conn):
    token = api.create()["token"]
    redis_conn.flushdb()
    database_proxy.cut()
    response = api.current(token)
    assert response.status_code == 503
    assert body(response)["code"] == "store_unavailable"


def test_both_stores_down_fails_closed(api, own_redis, database_proxy):
    token = api.create()["token"]
    own_redis.stop()
    database_proxy.cut()
    response = api.current(token)
    assert response.status_code == 503
    assert body(response)["code"] == "store_unavailable"


# Activity.

def test_activity_reaches_postgres_in_batches_not_per_request(api, settings):
    import time_machine

    with time_machine.travel("2031-01-01T00:00:00Z", tick=False) as traveller:
        tokens = [api.create(f"auth0|user{i}")["token"] for i in range(3)]
        traveller.shift(120)
        writes_before = _session_writes()
        for token in tokens:
            for _ in range(5):
                assert api.current(token).status_code == 200
        assert _session_writes() == writes_before, "no database write on the request path"
        assert activity_flush() == 3
    moved = Session.objects.values_list("last_activity_at", flat=True)
    assert {m.isoformat() for m in moved} == {"2031-01-01T00:02:00+00:00"}
    assert activity_flush() == 0


def _session_writes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT n_tup_upd + n_tup_ins FROM pg_stat_user_tables "
                       "WHERE relname = 'sessions_api_session'")
        return cursor.fetchone()[0]


def test_a_fanout_while_redis_is_down_is_repaired(api, own_redis):
    token = api.create()["token"]
    own_redis.proxy.cut()
    account = Account.objects.get()
    account.subscription_plan, account.state_version = "pro", account.state_version + 1
    account.save()
    session_store.redis_breaker.record_failure(ConnectionError())
    account_state_publish(account)
    own_redis.proxy.restore()
    cooldown_passes()
    assert body(api.current(token))["subscription_plan"] == "pro"


def test_the_next_successful_write_drains_the_outbox(api, database_proxy):
    token = api.create()["token"]
    database_proxy.cut()
    assert api.logout(token).status_code == 204
    database_proxy.restore()
    cooldown_passes()
    assert not SessionEvent.objects.filter(kind="revoked").exists()
    api.create("auth0|bob")
    assert Session.objects.get(revoked_at__isnull=False).revoke_reason == "logout"
    assert SessionEvent.objects.filter(kind="revoked").count() == 1


def test_revoked_while_postgres_was_down_stays_refused_when_redis_goes_too(api, own_redis,
                                                                         database_proxy):
    token = api.create()["token"]
    database_proxy.cut()
    assert api.logout(token).status_code == 204
    own_redis.proxy.cut()
    database_proxy.restore()
    cooldown_passes()
    response = api.current(token)
    assert response.status_code == 401
    assert body(response)["code"] == "session_revoked"


def test_a_silent_redis_does_not_hang_requests(api, own_redis):
    token = api.create()["token"]
    own_redis.proxy.stall()
    started = time.monotonic()
    response = api.current(token)
    took = time.monotonic() - started
    assert response.status_code == 200
    assert took < 1.5, f"a silent Redis cost {took:.2f}s"
    started = time.monotonic()
    assert api.current(token).status_code == 200
    assert time.monotonic() - started < 0.3


def test_a_silent_database_costs_one_connect_timeout_then_nothing(api, database_proxy):
    token = api.create()["token"]
    database_proxy.stall()
    cooldown_passes()  # drop the open connection: the next request must connect anew
    started = time.monotonic()
    assert api.update(token, {"needs_onboarding": False}).status_code == 503
    first = time.monotonic() - started
    started = time.monotonic()
    assert api.update(token, {"needs_onboarding": False}).status_code == 503
    assert api.current(token).status_code == 200  # Redis still answers /current
    rest = time.monotonic() - started
    assert first < 3.0, f"connecting to a silent database cost {first:.2f}s"
    assert rest < 0.3


def test_refresh_works_while_redis_is_down_and_the_old_token_never_comes_back(api, own_redis):
    old = api.create()["token"]
    own_redis.proxy.cut()
    response = api.call("POST", "/api/sessions/refresh/", session=old)
    assert response.status_code == 200, response.content
    new = body(response)["token"]
    assert api.current(new).status_code == 200
    assert api.current(old).status_code == 401
    own_redis.proxy.restore()  # Redis kept the old token's live copy
    cooldown_passes()
    assert api.current(new).status_code == 200
    refused = api.current(old)
    assert refused.status_code == 401 and body(refused)["code"] == "session_revoked"
    assert SessionEvent.objects.filter(kind="rotated").count() == 1


def test_refresh_with_the_closed_fallback_is_refused_while_redis_is_down(api, own_redis,
                                                                          settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "STORE_FALLBACK": "closed"}
    token = api.create()["token"]
    own_redis.proxy.cut()
    response = api.call("POST", "/api/sessions/refresh/", session=token)
    assert response.status_code == 503
    own_redis.proxy.restore()
    cooldown_passes()
    assert api.current(token).status_code == 200
    assert not SessionEvent.objects.filter(kind="rotated").exists()


def test_two_refreshes_during_one_outage_bury_both_old_tokens(api, own_redis):
    first = api.create()["token"]
    own_redis.proxy.cut()
    second = body(api.call("POST", "/api/sessions/refresh/", session=first))["token"]
    third = body(api.call("POST", "/api/sessions/refresh/", session=second))["token"]
    own_redis.proxy.restore()
    cooldown_passes()
    assert api.current(third).status_code == 200
    for old in (first, second):
        assert body(api.current(old))["code"] == "session_revoked"
