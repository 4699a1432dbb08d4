"""Races and recoveries of the store, each made to happen at a chosen moment in one process,
against the real PostgreSQL and a redis-server of the test's own where Redis must break."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from sessions_api.models import Session, SessionEvent
from sessions_api.ops.cleanup import sessions_cleanup
from sessions_api.services import (
    Caller,
    account_subscription_set,
    outbox_drain,
    users_sessions_revoke,
)
from sessions_api.store import incarnation, session_store
from sessions_api.store.connection import reset_clients

from .support.breakers import cooldown_passes
from .support.held import HeldCreate

pytestmark = pytest.mark.django_db(transaction=True)

SERVICE = Caller(actor="service:test")


def test_a_recovery_never_runs_a_call_twice(api, own_redis):
    own_redis.stop()
    with pytest.raises(Exception):  # noqa: B017 - any store error
        session_store.session_call(session_store.hot.ping)
    own_redis.start()
    cooldown_passes()
    client = session_store.hot.client
    assert session_store.session_call(client.incr, "counted") == 1
    assert session_store.redis_call(client.incr, "counted") == 2


def test_a_backchannel_logout_right_after_an_outage_is_accepted(api, own_redis, backchannel,
                                                                fake_auth0):
    logout_token, post = backchannel
    token = api.create("auth0|alice")["token"]
    own_redis.stop()
    assert api.current(token).status_code == 200  # from the audit copy
    own_redis.start()
    cooldown_passes()
    assert post(logout_token()).status_code == 200
    assert api.current(token).json()["code"] == "session_revoked"


def test_a_session_recorded_as_expired_stays_expired_when_the_timeout_grows(api, settings,
                                                                            redis_conn):
    token = api.create("auth0|alice")["token"]
    Session.objects.update(last_activity_at=datetime.now(UTC) - timedelta(hours=9))
    redis_conn.flushdb()  # so the cleanup goes by the audit copy's activity
    assert sessions_cleanup(dry_run=False, batch_size=100)["expired"] == 1
    settings.SESSIONS_API = {**settings.SESSIONS_API, "IDLE_TIMEOUT": 86400}
    redis_conn.flushdb()
    assert api.current(token).json()["code"] == "session_expired"


def test_a_downgrade_during_a_restore_is_not_undone(api, monkeypatch, redis_conn):
    """The restore reads the row, then the plan is downgraded (no copy in Redis to update),
    then the restore writes what it read: the re-check after the write publishes the change."""
    token = api.create("auth0|alice")["token"]
    account_subscription_set(subject="auth0|alice", plan="pro", status="active", caller=SERVICE)
    redis_conn.flushdb()
    audit_state = session_store._audit_state

    def audit_state_then_downgrade(token_hash):
        found = audit_state(token_hash)
        account_subscription_set(subject="auth0|alice", plan="free", status="canceled",
                                 caller=SERVICE)
        return found

    monkeypatch.setattr(session_store, "_audit_state", audit_state_then_downgrade)
    assert api.current(token).json()["subscription_plan"] == "pro"  # read before the change
    monkeypatch.undo()
    shown = api.current(token).json()
    assert (shown["subscription_plan"], shown["subscription_status"]) == ("free", "canceled")


def test_a_deactivation_during_a_create_ends_the_new_session(fake_auth0, monkeypatch, api):
    """The create is held inside its transaction; meanwhile the user is deactivated. The
    deactivation waits for the create (it holds the user row), then revokes its session."""
    first = api.create("auth0|alice")["token"]
    user = Session.objects.get().account.user

    def deactivate():
        user.is_active = False
        user.save()

    response = HeldCreate(monkeypatch, fake_auth0.token("auth0|alice")).overlap(deactivate)
    if response.status_code == 201:
        assert api.current(response.json()["token"]).json()["code"] == "session_revoked"
    else:
        assert response.json()["code"] == "token_invalid"
    assert api.current(first).json()["code"] == "session_revoked"


def test_a_bulk_deactivation_is_ended_by_one_call(api):
    alice = [api.create("auth0|alice")["token"] for _ in range(2)]
    bob = api.create("auth0|bob")["token"]
    users = get_user_model().objects.filter(session_account__subject="auth0|alice")
    users.update(is_active=False)  # sends no signal: the sessions are still alive
    assert api.current(alice[0]).status_code == 200
    assert users_sessions_revoke(users=users, caller=SERVICE) == 2
    assert [api.current(token).json()["code"] for token in alice] == ["session_revoked"] * 2
    assert api.current(bob).status_code == 200


def test_a_logout_known_only_to_redis_survives_a_verification(api, database_proxy, redis_conn):
    """Logged out while PostgreSQL was down (the tombstone and the outbox hold it), then Redis
    is verified (its marker was evicted): the tombstone must stay."""
    token = api.create("auth0|alice")["token"]
    database_proxy.cut()
    assert api.logout(token).status_code == 204
    database_proxy.restore()
    cooldown_passes()
    redis_conn.delete(incarnation.marker_key())
    reset_clients()  # new connections: each is checked, and this Redis verified again
    assert api.current(token).json()["code"] == "session_revoked"


def test_a_logout_in_the_outbox_keeps_its_time_and_reason_when_another_came_first(
        api, database_proxy):
    """Logged out while PostgreSQL was down; once it is back, logout everywhere from another
    session reaches the same session through the database before the outbox drains."""
    first, other = api.create("auth0|alice"), api.create("auth0|alice")
    database_proxy.cut()
    assert api.logout(first["token"]).status_code == 204
    database_proxy.restore()
    cooldown_passes()
    everywhere = api.call("POST", "/api/sessions/logout-all/", session=other["token"],
                          body={"include_current": True})
    assert everywhere.status_code == 200
    assert outbox_drain() == 1
    session = Session.objects.get(pk=first["session"]["id"])
    events = list(SessionEvent.objects.filter(session=session, kind="revoked"))
    assert session.revoke_reason == "logout"
    assert session.revoked_at == min(event.at for event in events)
    assert sorted(event.reason for event in events) == ["logout", "others"]


def test_a_recovery_waits_for_a_repair_another_process_holds(api, own_redis):
    """Redis comes back still holding a copy that a logout made during the partition left
    live. Another process's repair has claimed that row but not yet written the tombstone: a
    worker recovering now must wait for it, not skip the row and serve the live copy."""
    import threading

    import psycopg
    from django.db import connection

    from sessions_api.tokens import token_hash

    token = api.create("auth0|alice")["token"]
    hashed = token_hash(token)
    own_redis.proxy.cut()  # the data stays on the server: only this process is cut off
    assert api.logout(token).status_code == 204  # recorded in the audit copy alone
    own_redis.proxy.restore()
    cooldown_passes()
    assert Session.objects.get(token_hash=hashed).hot_copy_stale

    def read():
        try:
            answers.append(session_store.read(hashed))
        finally:
            connection.close()  # this thread's own connection

    db = connection.settings_dict
    answers = []
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                         user=db["USER"], dbname=db["NAME"]) as other:
        other.execute("SELECT id FROM sessions_api_session WHERE hot_copy_stale FOR UPDATE")
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(0.5)
        waited = not answers  # waiting for the other repair, not serving the live copy
        session_store.hot.bury(hashed, "logout", session_store.hot.clock() + 60_000)
        other.execute("UPDATE sessions_api_session SET hot_copy_stale = false")
        other.commit()  # the other repair has applied the row
    reader.join(10)
    assert waited
    assert [getattr(answer, "why", answer) for answer in answers] == ["revoked"]


def test_a_repair_that_redis_refuses_keeps_the_process_off_redis(api, own_redis, monkeypatch):
    """A process recovering while Redis still refuses writes (maxmemory) gets its repair
    refused halfway. If Redis takes writes again a moment later, that process must still not
    serve the copies the failed pass did not reach: a logged-out one among them."""
    from sessions_api.tokens import token_hash

    tokens = [api.create(f"auth0|{name}")["token"] for name in ("alice", "bob")]
    # The repair goes by pk: the first row's write is refused before the second is reached.
    first, second = sorted(tokens, key=lambda t: Session.objects.get(token_hash=token_hash(t)).pk)
    own_redis.proxy.cut()
    assert api.update(first, {"data": {"step": 2}}).status_code == 200
    assert api.logout(second).status_code == 204
    own_redis.proxy.restore()  # Redis still holds both copies as they were, live
    server = own_redis.client()
    server.config_set("maxmemory-policy", "noeviction")
    server.config_set("maxmemory", 1)
    cooldown_passes()
    session_store.last_mark_ms = 0  # as in a worker that did not make those changes itself
    repair = session_store.repair

    def refused_then_healed(**options):
        try:
            return repair(**options)  # refused: OOM on the first row's copy
        finally:
            server.config_set("maxmemory", 0)

    monkeypatch.setattr(session_store, "repair", refused_then_healed)
    assert api.current(second).json()["code"] == "session_revoked"
    monkeypatch.undo()
    cooldown_passes()
    assert api.current(second).json()["code"] == "session_revoked"
    assert api.current(first).json()["data"] == {"step": 2}
