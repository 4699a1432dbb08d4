"""``sessions_cleanup`` and ``manage.py cleanup_sessions`` against real PostgreSQL and Redis."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command

from sessions_api.models import Account, Session, SessionEvent
from sessions_api.ops.cleanup import sessions_cleanup
from sessions_api.store import session_store
from sessions_api.tokens import token_hash

from .support.hot_copy import hot_last_activity_set

IDLE = 28800


def later(seconds: float):
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False)


def session_id(created) -> str:
    return created["session"]["id"]


def test_sessions_past_their_idle_deadline_get_one_expired_event(api):
    first, second = api.create("auth0|alice"), api.create("auth0|bob")
    revoked = api.create("auth0|alice")
    assert api.logout(revoked["token"]).status_code == 204
    with later(IDLE + 5):
        counts = sessions_cleanup(dry_run=False, batch_size=1)
        again = sessions_cleanup(dry_run=False, batch_size=1)
    assert counts["expired"] == 2
    assert again["expired"] == 0
    for created in (first, second):
        session = Session.objects.get(pk=session_id(created))
        event = SessionEvent.objects.get(session=session, kind="expired")
        assert event.reason == "idle"
        assert event.actor == "system:cleanup"
        assert session.expired_at == event.at == session.last_activity_at + timedelta(seconds=IDLE)
    assert not SessionEvent.objects.filter(session_id=session_id(revoked), kind="expired").exists()


def test_a_session_alive_in_the_hot_copy_is_not_expired(api, redis_conn):
    created = api.create()
    session = Session.objects.get(pk=session_id(created))
    # The audit copy has not received the latest activity yet (the flush runs every minute).
    Session.objects.filter(pk=session.pk).update(
        last_activity_at=session.last_activity_at - timedelta(seconds=IDLE + 60))
    assert sessions_cleanup(dry_run=False, batch_size=100)["expired"] == 0
    with later(IDLE + 5):
        assert sessions_cleanup(dry_run=False, batch_size=100)["expired"] == 1
    assert api.current(created["token"]).status_code == 200  # the real clock: still alive


def test_the_absolute_deadline_is_recorded_as_such(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "ABSOLUTE_TIMEOUT": 600}
    created = api.create()
    with later(601):
        assert sessions_cleanup(dry_run=False, batch_size=10)["expired"] == 1
    event = SessionEvent.objects.get(session_id=session_id(created), kind="expired")
    assert event.reason == "absolute"
    assert event.at == Session.objects.get(pk=session_id(created)).absolute_expires_at


def test_audit_rows_are_deleted_after_the_retention(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "AUDIT_RETENTION_DAYS": 2}
    old = [api.create("auth0|alice"), api.create("auth0|bob")]
    api.logout(old[0]["token"])
    events = SessionEvent.objects.count()
    with later(86400 * 3 + 10):
        fresh = Session.objects.get(pk=session_id(api.create("auth0|carol")))
        counts = sessions_cleanup(dry_run=False, batch_size=1)
    assert counts["deleted_sessions"] == 2
    assert counts["deleted_events"] == events
    assert list(Session.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert Account.objects.count() == 3  # identities stay; only the audit copy ages out


def test_retention_zero_keeps_everything(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "AUDIT_RETENTION_DAYS": 0}
    api.create()
    with later(86400 * 400):
        counts = sessions_cleanup(dry_run=False, batch_size=10)
    assert (counts["deleted_sessions"], counts["deleted_events"]) == (0, 0)
    assert counts["expired"] == 1
    assert Session.objects.count() == 1


def test_redis_index_leftovers_are_pruned(api, redis_conn):
    evicted, tombstoned, live = (api.create() for _ in range(3))
    hot = session_store.hot
    account = Account.objects.get()
    redis_conn.delete(hot.session_key(token_hash(evicted["token"])))
    hot.bury(token_hash(tombstoned["token"]), "logout", hot.clock() + 60_000)
    counts = sessions_cleanup(dry_run=False, batch_size=10)
    assert counts["index_entries_pruned"] == 2
    assert set(hot.index_read(str(account.pk))) == {session_id(live)}


def build_mixed_state(api, redis_conn) -> dict:
    """Something for each step: expiry (idle and absolute), retention, index leftovers.
    Returns the counts a run must report."""
    sessions = [api.create(f"auth0|user{n % 3}") for n in range(6)]
    hot, now = session_store.hot, datetime.now(UTC)
    api.logout(sessions[0]["token"])
    aged = [session_id(s) for s in sessions[:2]]
    Session.objects.filter(pk__in=aged).update(absolute_expires_at=now - timedelta(days=100),
                                               created_at=now - timedelta(days=101))
    redis_conn.delete(hot.session_key(token_hash(sessions[2]["token"])))
    idle_gone = now - timedelta(seconds=IDLE + 60)
    Session.objects.filter(pk=session_id(sessions[3])).update(last_activity_at=idle_gone)
    hot_last_activity_set(redis_conn, hot.session_key(token_hash(sessions[3]["token"])),
                          int(idle_gone.timestamp() * 1000))
    Session.objects.filter(pk=session_id(sessions[4])).update(
        absolute_expires_at=now - timedelta(hours=1))
    return {"expired": 2, "deleted_sessions": 2,
            "deleted_events": SessionEvent.objects.filter(session_id__in=aged).count(),
            "index_entries_pruned": 2, "retention_days": 90}


def database_snapshot():
    return (list(Session.objects.order_by("pk").values()),
            list(SessionEvent.objects.order_by("pk").values()),
            list(Account.objects.order_by("pk").values()))


@pytest.fixture
def redis_snapshot():
    binary = redis.Redis.from_url(django_settings.SESSIONS_API["REDIS_URL"])
    yield lambda: {key: binary.dump(key) for key in sorted(binary.scan_iter(count=1000))}
    binary.close()


def test_dry_run_counts_what_a_real_run_does_and_changes_nothing(api, redis_conn,
                                                                redis_snapshot):
    expected = build_mixed_state(api, redis_conn)
    before = database_snapshot(), redis_snapshot()
    dry = sessions_cleanup(dry_run=True, batch_size=2)
    assert (database_snapshot(), redis_snapshot()) == before
    assert dry == {"dry_run": True, **expected}
    real = sessions_cleanup(dry_run=False, batch_size=2)
    assert real == {**dry, "dry_run": False}
    assert database_snapshot() != before[0]
    assert redis_snapshot() != before[1]


def test_command_prints_counts_and_shares_the_code_path(api, redis_conn):
    expected = build_mixed_state(api, redis_conn)
    out = io.StringIO()
    call_command("cleanup_sessions", "--dry-run", "--json", "--batch-size", "1", stdout=out)
    dry = json.loads(out.getvalue())
    assert dry["dry_run"] is True and dry["expired"] == 2
    out = io.StringIO()
    call_command("cleanup_sessions", stdout=out)
    assert out.getvalue().splitlines() == [
        "2 expired session(s) were recorded",
        f"2 session(s) and {expected['deleted_events']} event(s) past the retention of 90 days "
        "were deleted",
        "2 Redis index leftover(s) were pruned",
    ]
    assert SessionEvent.objects.filter(kind="expired").count() == 2


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_batch_size_does_not_change_the_result(api, batch_size):
    for n in range(5):
        api.create(f"auth0|user{n}")
    with later(IDLE + 1):
        assert sessions_cleanup(dry_run=False, batch_size=batch_size)["expired"] == 5
