"""PATCH /api/sessions/update/: writable fields, refused fields, order of checks, all or nothing."""

import pytest

from sessions_api.models import Account, Membership, Session, SessionEvent, Tenant


@pytest.fixture
def alice(api):
    return api.create("auth0|alice")


def state(token, api):
    return api.current(token).json()


def test_every_writable_field(api, alice, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "SELF_SERVE_PLANS": ["free", "starter"]}
    account = Account.objects.get()
    tenant = Tenant.objects.create(name="Acme")
    Membership.objects.create(tenant=tenant, account=account, role="admin")
    body = {"needs_onboarding": False, "onboarding_completed": True, "subscription_plan": "starter",
            "tenant_id": str(tenant.id), "data": {"step": 3, "theme": "dark"}}
    response = api.update(alice["token"], body)
    assert response.status_code == 200, response.content
    session = response.json()
    assert session["needs_onboarding"] is False
    assert session["onboarding_completed"] is True
    assert session["subscription_plan"] == "starter"
    assert session["tenant"] == {"id": str(tenant.id), "name": "Acme", "role": "admin"}
    assert session["data"] == {"step": 3, "theme": "dark"}
    assert state(alice["token"], api) == session


def test_patch_on_current_is_an_alias(api, alice):
    response = api.call("PATCH", "/api/sessions/current", session=alice["token"],
                        body={"needs_onboarding": False})
    assert response.status_code == 200
    assert response.json()["needs_onboarding"] is False


def test_update_records_fields_old_and_new(api, alice):
    api.update(alice["token"], {"needs_onboarding": False, "data": {"a": 1}})
    event = SessionEvent.objects.get(kind="updated")
    assert event.changes == {"needs_onboarding": [True, False], "data": [{}, {"a": 1}]}
    assert event.actor == f"user:{alice['session']['user']['id']}"


def test_user_level_state_is_seen_by_the_users_other_sessions(api, alice):
    other = api.create("auth0|alice")
    api.update(alice["token"], {"needs_onboarding": False, "onboarding_completed": True,
                                "data": {"only": "mine"}})
    seen = state(other["token"], api)
    assert seen["needs_onboarding"] is False
    assert seen["onboarding_completed"] is True
    assert seen["data"] == {}  # data belongs to the session


def test_another_users_sessions_are_untouched(api, alice):
    bob = api.create("auth0|bob")
    api.update(alice["token"], {"needs_onboarding": False})
    assert state(bob["token"], api)["needs_onboarding"] is True


@pytest.mark.parametrize("body,field", [
    ({"subscription_status": "active"}, "subscription_status"),
    ({"subscription_plan": "enterprise"}, "subscription_plan"),
    ({"user": {"email": "x@y.z"}}, "user"),
    ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ({"expires_at": "2099-01-01T00:00:00Z"}, "expires_at"),
    ({"id": "00000000-0000-0000-0000-000000000000"}, "id"),
])
def test_server_only_fields_are_forbidden(api, alice, body, field):
    response = api.update(alice["token"], {"needs_onboarding": False, **body})
    assert response.status_code == 403
    assert response.json()["code"] == "field_not_writable"
    assert field in response.json()["errors"]
    assert state(alice["token"], api)["needs_onboarding"] is True  # nothing changed


def test_unknown_field(api, alice):
    response = api.update(alice["token"], {"needs_onboarding": False, "is_admin": True})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert "is_admin" in response.json()["errors"]
    assert state(alice["token"], api)["needs_onboarding"] is True


def test_unknown_field_is_checked_before_server_only(api, alice):
    response = api.update(alice["token"], {"subscription_status": "active", "bogus": 1})
    assert response.json()["code"] == "unknown_field"


def test_server_only_is_checked_before_values(api, alice):
    response = api.update(alice["token"], {"subscription_status": "active",
                                           "needs_onboarding": "yes"})
    assert response.json()["code"] == "field_not_writable"


@pytest.mark.parametrize("body,field", [
    ({"needs_onboarding": "yes"}, "needs_onboarding"),
    ({"needs_onboarding": 1}, "needs_onboarding"),
    ({"onboarding_completed": None}, "onboarding_completed"),
    ({"onboarding_completed": "true"}, "onboarding_completed"),
    ({"subscription_plan": 5}, "subscription_plan"),
    ({"tenant_id": "not-a-uuid"}, "tenant_id"),
    ({"tenant_id": 12}, "tenant_id"),
    ({"data": [1, 2]}, "data"),
    ({"data": "text"}, "data"),
    ({"data": {"blob": "x" * 5000}}, "data"),
])
def test_wrong_values_name_the_field(api, alice, body, field):
    response = api.update(alice["token"], body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]


def test_all_or_nothing(api, alice):
    response = api.update(alice["token"], {"needs_onboarding": False, "data": {"a": 1},
                                           "onboarding_completed": "no"})
    assert response.status_code == 400
    after = state(alice["token"], api)
    assert after["needs_onboarding"] is True and after["data"] == {}
    assert not SessionEvent.objects.filter(kind="updated").exists()


def test_tenant_the_user_is_not_in_is_not_found_and_changes_nothing(api, alice):
    stranger = Tenant.objects.create(name="Not yours")
    response = api.update(alice["token"], {"needs_onboarding": False,
                                           "tenant_id": str(stranger.id)})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert state(alice["token"], api)["needs_onboarding"] is True
    assert Account.objects.get().needs_onboarding is True


def test_tenant_can_be_cleared(api):
    api.create("auth0|alice")
    account = Account.objects.get()
    Membership.objects.create(tenant=Tenant.objects.create(name="Acme"), account=account)
    token = api.create("auth0|alice")["token"]
    assert state(token, api)["tenant"]["name"] == "Acme"
    assert api.update(token, {"tenant_id": None}).json()["tenant"] is None


def test_body_must_be_an_object(api, alice):
    response = api.call("PATCH", "/api/sessions/update/", session=alice["token"], raw="[1, 2]")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_if_match_guards_against_lost_updates(api, alice):
    etag = api.current(alice["token"])["ETag"]
    first = api.update(alice["token"], {"data": {"tab": 1}}, headers={"HTTP_IF_MATCH": etag})
    assert first.status_code == 200
    second = api.update(alice["token"], {"data": {"tab": 2}}, headers={"HTTP_IF_MATCH": etag})
    assert second.status_code == 412
    assert second.json()["code"] == "precondition_failed"
    assert state(alice["token"], api)["data"] == {"tab": 1}
    fresh = api.current(alice["token"])["ETag"]
    assert api.update(alice["token"], {"data": {"tab": 2}},
                      headers={"HTTP_IF_MATCH": fresh}).status_code == 200


def test_update_after_logout_is_refused(api, alice):
    api.logout(alice["token"])
    response = api.update(alice["token"], {"needs_onboarding": False})
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    assert Account.objects.get().needs_onboarding is True


def test_update_needs_a_session(api):
    response = api.call("PATCH", "/api/sessions/update/", body={"needs_onboarding": False})
    assert response.status_code == 401
    assert response.json()["code"] == "session_missing"


def test_nothing_but_the_hash_is_stored(api, redis_conn):
    token = api.create()["token"]
    api.update(token, {"data": {"k": "v"}})
    secret = token.removeprefix("sst_")
    for key in redis_conn.scan_iter("*"):
        assert secret not in key
        dumped = redis_conn.dump(key) or b""
        assert secret.encode() not in dumped
    row = Session.objects.values().get()
    assert all(secret not in str(value) for value in row.values())
    for event in SessionEvent.objects.values():
        assert all(secret not in str(value) for value in event.values())


def test_create_and_refresh_answer_with_the_etag_of_current(api, fake_auth0):
    created = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token("auth0|alice"))
    token = created.json()["token"]
    assert created["ETag"] == api.current(token)["ETag"]
    first = api.update(token, {"data": {"tab": 1}}, headers={"HTTP_IF_MATCH": created["ETag"]})
    assert first.status_code == 200  # the first write can be conditional
    refreshed = api.call("POST", "/api/sessions/refresh/", session=token)
    assert refreshed["ETag"] == api.current(refreshed.json()["token"])["ETag"]
    assert api.update(refreshed.json()["token"], {"data": {"tab": 2}},
                      headers={"HTTP_IF_MATCH": created["ETag"]}).status_code == 412
