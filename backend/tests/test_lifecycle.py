"""The session lifecycle of SPEC section 5 against real PostgreSQL and Redis."""

import re

import pytest
import time_machine

from sessions_api.models import Account, Membership, Session, SessionEvent, Tenant

from .support.hot_copy import hot_read

TOKEN = re.compile(r"^sst_[A-Za-z0-9_-]{43}$")


def test_create_returns_an_opaque_token_and_the_session(api):
    created = api.create("auth0|alice", email="alice@example.com", name="Alice")
    assert TOKEN.match(created["token"])
    assert created["token_type"] == "Session"
    session = created["session"]
    assert session["user"]["auth0_sub"] == "auth0|alice"
    assert session["user"]["email"] == "alice@example.com"
    assert session["tenant"] is None
    assert session["needs_onboarding"] is True
    assert session["onboarding_completed"] is False
    assert session["subscription_plan"] == "free"
    assert session["subscription_status"] == "none"
    assert session["data"] == {}
    assert created["expires_at"] == session["expires_at"]
    assert set(session) == {"id", "user", "tenant", "needs_onboarding", "onboarding_completed",
                            "subscription_plan", "subscription_status", "data", "created_at",
                            "last_activity_at", "expires_at"}


def test_create_response_is_not_cacheable(api, fake_auth0):
    response = api.call("POST", "/api/sessions/create", bearer=fake_auth0.token())
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/sessions/current/", "/api/sessions/current"])
def test_current_answers_with_and_without_slash(api, path):
    token = api.create()["token"]
    response = api.call("GET", path, session=token)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["ETag"]
    assert response.json()["user"]["auth0_sub"] == "auth0|alice"


def test_user_is_provisioned_once_by_issuer_and_subject(api):
    first = api.create("auth0|alice")
    second = api.create("auth0|alice")
    assert first["session"]["user"]["id"] == second["session"]["user"]["id"]
    assert first["session"]["id"] != second["session"]["id"]
    assert Account.objects.count() == 1


def test_same_email_different_subject_is_a_different_user(api):
    a = api.create("auth0|one", email="shared@example.com")
    b = api.create("google-oauth2|two", email="shared@example.com")
    assert a["session"]["user"]["id"] != b["session"]["user"]["id"]


def test_create_with_a_tenant_of_the_user(api):
    api.create("auth0|alice")
    account = Account.objects.get(subject="auth0|alice")
    acme, other = Tenant.objects.create(name="Acme"), Tenant.objects.create(name="Other")
    Membership.objects.create(tenant=acme, account=account, role="owner")
    Membership.objects.create(tenant=other, account=account, role="member")
    created = api.create("auth0|alice", body={"tenant_id": str(other.id)})
    assert created["session"]["tenant"] == {"id": str(other.id), "name": "Other", "role": "member"}
    default = api.create("auth0|alice")
    assert default["session"]["tenant"]["name"] == "Acme"


def test_create_with_someone_elses_tenant_is_not_found(api, fake_auth0):
    stranger = Tenant.objects.create(name="Not yours")
    response = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(),
                        body={"tenant_id": str(stranger.id)})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Session.objects.count() == 0


def test_logout_kills_the_token_at_once(api):
    token = api.create()["token"]
    response = api.logout(token)
    assert response.status_code == 204
    refused = api.current(token)
    assert refused.status_code == 401
    assert refused.json()["code"] == "session_revoked"
    assert refused["WWW-Authenticate"].startswith("Session")
    session = Session.objects.get()
    assert session.revoke_reason == "logout"
    assert [e.kind for e in SessionEvent.objects.order_by("at", "id")] == ["created", "revoked"]


def test_logout_alias_post(api):
    token = api.create()["token"]
    assert api.call("POST", "/api/sessions/logout", session=token).status_code == 204
    assert api.current(token).json()["code"] == "session_revoked"


def test_revoked_session_is_refused_after_redis_loses_it(api, redis_conn):
    token = api.create()["token"]
    api.logout(token)
    redis_conn.flushdb()
    response = api.current(token)
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


def test_idle_timeout_expires_a_session(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "IDLE_TIMEOUT": 5}
    with time_machine.travel(0, tick=False) as traveller:
        traveller.move_to("2031-01-01T00:00:00Z")
        token = api.create()["token"]
        traveller.shift(4)
        assert api.current(token).status_code == 200  # activity slides the deadline
        traveller.shift(4)
        assert api.current(token).status_code == 200
        traveller.shift(6)
        response = api.current(token)
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_absolute_timeout_ends_a_session_despite_activity(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "IDLE_TIMEOUT": 100, "ABSOLUTE_TIMEOUT": 250}
    with time_machine.travel("2031-01-01T00:00:00Z", tick=False) as traveller:
        token = api.create()["token"]
        for _ in range(4):
            traveller.shift(60)
            assert api.current(token).status_code == 200
        traveller.shift(20)  # 260 s after creation
        response = api.current(token)
    assert response.json()["code"] == "session_expired"


def test_expires_at_is_the_earlier_deadline(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "IDLE_TIMEOUT": 600, "ABSOLUTE_TIMEOUT": 900}
    with time_machine.travel("2031-01-01T00:00:00Z", tick=False) as traveller:
        created = api.create()
        assert created["expires_at"] == "2031-01-01T00:10:00.000Z"
        traveller.shift(500)
        assert api.current(created["token"]).json()["expires_at"] == "2031-01-01T00:15:00.000Z"


def test_activity_is_written_at_most_once_per_interval(api, redis_conn, settings):
    with time_machine.travel("2031-01-01T00:00:00Z", tick=False) as traveller:
        token = api.create()["token"]
        key = next(iter(redis_conn.scan_iter("ss:t:*")))
        written = hot_read(redis_conn, key).last_activity_ms
        traveller.shift(30)
        api.current(token)
        assert hot_read(redis_conn, key).last_activity_ms == written  # within a minute: no write
        traveller.shift(31)
        api.current(token)
        assert hot_read(redis_conn, key).last_activity_ms != written


def test_a_subject_already_taken_as_a_username_still_provisions_a_new_user(api):
    from django.contrib.auth import get_user_model

    by_hand = get_user_model().objects.create(username="auth0|alice")
    created = api.create("auth0|alice")
    assert created["session"]["user"]["id"] != str(by_hand.pk)
    assert Account.objects.get(subject="auth0|alice").user_id != by_hand.pk


def test_the_same_subject_under_three_issuers_is_three_users(db):
    from sessions_api.services.provisioning import account_provision

    accounts = [
        account_provision(
            claims={"iss": issuer, "sub": "auth0|same", "email": "a@example.com", "name": "A"},
            access_token="unused: the claims carry email and name",
        )
        for issuer in ("https://one.example/", "https://two.example/", "https://three.example/")
    ]
    assert len({account.user_id for account in accounts}) == 3


def test_a_new_email_at_sign_in_shows_on_the_users_other_sessions(api):
    first = api.create("auth0|alice", email="alice@old.example", name="Alice")
    second = api.create("auth0|alice", email="alice@new.example", name="Alice B.")
    assert second["session"]["user"]["email"] == "alice@new.example"
    shown = api.current(first["token"]).json()["user"]
    assert (shown["email"], shown["name"]) == ("alice@new.example", "Alice B.")


def test_an_expired_session_says_expired_on_every_later_call(api, redis_conn):
    """Once found expired, its tombstone says why: the SDK renews an expired session but
    signs out for good on a revoked one."""
    from datetime import UTC, datetime, timedelta

    from sessions_api.models import Session

    token = api.create()["token"]
    redis_conn.delete(*redis_conn.keys("ss:t:*"))  # read from the audit copy next
    Session.objects.update(absolute_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    codes = [api.current(token).json()["code"] for _ in range(3)]
    assert codes == ["session_expired"] * 3
    assert redis_conn.get(redis_conn.keys("ss:t:*")[0]) == "!expired"  # from the tombstone
