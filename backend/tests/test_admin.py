"""The admin, driven as an operator would: a real staff user, logged in, clicking."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from sessions_api.models import Account, Membership, Session, SessionEvent, Tenant
from sessions_api.store import session_store
from sessions_api.store.record import Tombstone
from sessions_api.tokens import token_hash

from .support.hot_copy import hot_read

CHANGELIST = "/admin/sessions_api/session/"


def staff(*codenames, username="ops-ann") -> Client:
    user = get_user_model().objects.create_user(username=username, password="pw-ann-123",
                                                email=f"{username}@example.com", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="sessions_api", codename__in=codenames))
    client = Client()
    assert client.login(username=username, password="pw-ann-123")
    return client


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(db):
    return staff("view_session", "change_session", "view_sessionevent", "view_account",
                 "view_tenant",
                 "change_tenant", "view_membership")


def test_revoke_action_kills_the_redis_copy_and_names_the_admin(api, operator, redis_conn):
    doomed, spared = api.create("auth0|alice"), api.create("auth0|alice")
    response = operator.post(CHANGELIST, {"action": "revoke", "index": 0,
                                          "_selected_action": [doomed["session"]["id"]]},
                             REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="ops-browser")
    assert response.status_code == 302
    assert api.current(doomed["token"]).json()["code"] == "session_revoked"
    assert api.current(spared["token"]).status_code == 200
    key = session_store.hot.session_key(token_hash(doomed["token"]))
    assert hot_read(redis_conn, key) == Tombstone("admin")
    event = SessionEvent.objects.get(session_id=doomed["session"]["id"], kind="revoked")
    assert (event.actor, event.reason, event.ip, event.user_agent) == (
        "admin:ops-ann", "admin", "10.0.0.7", "ops-browser")
    assert Session.objects.get(pk=doomed["session"]["id"]).revoke_reason == "admin"


def test_without_change_permission_there_is_no_revoke(api, db):
    viewer = staff("view_session", username="viewer")
    created = api.create()
    page = viewer.get(CHANGELIST)
    assert page.status_code == 200
    assert b'value="revoke"' not in page.content
    viewer.post(CHANGELIST, {"action": "revoke", "index": 0,
                             "_selected_action": [created["session"]["id"]]})
    assert api.current(created["token"]).status_code == 200


def test_filters_and_search(api, operator):
    acme = Tenant.objects.create(name="Acme")
    live = api.create("auth0|alice", email="alice@example.com")
    account = Account.objects.get(subject="auth0|alice")
    Membership.objects.create(tenant=acme, account=account, role="owner")
    in_acme = api.create("auth0|alice", email="alice@example.com")
    revoked = api.create("auth0|bob", email="bob@example.com")
    api.logout(revoked["token"])

    def ids(query: str) -> set[str]:
        page = operator.get(CHANGELIST + query)
        assert page.status_code == 200
        return {s["session"]["id"] for s in (live, in_acme, revoked)
                if f'/session/{s["session"]["id"]}/change/' in page.content.decode()}

    alice = {live["session"]["id"], in_acme["session"]["id"]}
    assert ids("") == alice | {revoked["session"]["id"]}
    assert ids("?state=live") == alice
    assert ids("?state=revoked") == {revoked["session"]["id"]}
    assert ids(f"?account={account.pk}") == alice
    assert ids(f"?tenant__id__exact={acme.pk}") == {in_acme["session"]["id"]}
    assert ids("?q=bob@example.com") == {revoked["session"]["id"]}
    assert ids("?q=auth0|alice") == alice


def test_session_page_shows_events_read_only_and_never_the_hash(api, operator):
    created = api.create()
    api.update(created["token"], {"data": {"step": 2}})
    page = operator.get(f"{CHANGELIST}{created['session']['id']}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Session events" in html
    assert "created" in html and "updated" in html and "user:" in html
    assert token_hash(created["token"]) not in html
    assert created["token"] not in html
    assert 'name="_save"' not in html  # read-only
    assert operator.get(f"{CHANGELIST}add/").status_code == 403


def test_renaming_a_tenant_reaches_live_sessions(api, operator):
    acme = Tenant.objects.create(name="Acme")
    api.create("auth0|alice")
    Membership.objects.create(tenant=acme, account=Account.objects.get(), role="owner")
    token = api.create("auth0|alice")["token"]
    response = operator.post(f"/admin/sessions_api/tenant/{acme.pk}/change/", {"name": "Acme Ltd"})
    assert response.status_code == 302
    assert api.current(token).json()["tenant"]["name"] == "Acme Ltd"


def test_a_malformed_user_filter_finds_nothing_instead_of_failing(api, operator):
    api.create()
    page = operator.get(CHANGELIST + "?account=not-a-uuid")
    assert page.status_code == 200
    assert "/change/" not in page.content.decode().split('id="result_list"')[-1]
