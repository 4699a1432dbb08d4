"""The internal API of SPEC section 6: ``Authorization: Service``, 404 when unconfigured."""

import pytest

from sessions_api.models import Account, Session, SessionEvent

SECRET = "service-secret-for-tests-0123456789"


@pytest.fixture
def service(settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "SERVICE_API_TOKEN": SECRET}
    return {"HTTP_AUTHORIZATION": f"Service {SECRET}"}


def test_subscription_change_is_seen_by_every_live_session(api, service):
    tokens = [api.create("auth0|alice")["token"] for _ in range(2)]
    etag = api.current(tokens[0])["ETag"]
    response = api.call("PUT", "/api/internal/users/auth0|alice/subscription/", headers=service,
                        body={"subscription_plan": "pro", "subscription_status": "active"})
    assert response.status_code == 200, response.content
    assert response.json() == {"auth0_sub": "auth0|alice", "subscription_plan": "pro",
                               "subscription_status": "active"}
    for token in tokens:
        session = api.current(token).json()
        assert (session["subscription_plan"], session["subscription_status"]) == ("pro", "active")
    assert api.current(tokens[0])["ETag"] != etag
    assert SessionEvent.objects.filter(kind="updated", actor="service").count() == 2


def test_subscription_path_may_be_percent_encoded(api, service):
    api.create("auth0|alice")
    response = api.call("PUT", "/api/internal/users/auth0%7Calice/subscription", headers=service,
                        body={"subscription_status": "past_due"})
    assert response.status_code == 200
    assert Account.objects.get().subscription_status == "past_due"


def test_revoke_sessions_revokes_them_all(api, service):
    tokens = [api.create("auth0|alice")["token"] for _ in range(3)]
    bob = api.create("auth0|bob")["token"]
    response = api.call("POST", "/api/internal/users/auth0|alice/revoke-sessions/", headers=service)
    assert response.json() == {"revoked": 3}
    assert {api.current(t).json()["code"] for t in tokens} == {"session_revoked"}
    assert api.current(bob).status_code == 200
    assert set(Session.objects.filter(account__subject="auth0|alice")
               .values_list("revoke_reason", flat=True)) == {"service"}


@pytest.mark.parametrize("call", [("PUT", "subscription/", {"subscription_plan": "pro"}),
                                  ("POST", "revoke-sessions/", None)])
def test_unknown_user_is_not_found(api, service, call):
    method, tail, body = call
    response = api.call(method, f"/api/internal/users/auth0|nobody/{tail}", headers=service,
                        body=body)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("header", [None, "Service wrong", f"Bearer {SECRET}", f"Service {SECRET}x",
                                    f"Session {SECRET}"])
def test_wrong_service_token_is_refused_and_changes_nothing(api, service, header):
    token = api.create("auth0|alice")["token"]
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = api.call("POST", "/api/internal/users/auth0|alice/revoke-sessions/", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "service_token_invalid"
    assert response["WWW-Authenticate"].startswith("Service")
    assert api.current(token).status_code == 200


def test_everything_is_not_found_when_the_service_token_is_unset(api):
    token = api.create("auth0|alice")["token"]
    for method, tail in (("PUT", "subscription/"), ("POST", "revoke-sessions/")):
        response = api.call(method, f"/api/internal/users/auth0|alice/{tail}",
                            headers={"HTTP_AUTHORIZATION": "Service anything"},
                            body={"subscription_plan": "pro"})
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api.current(token).json()["subscription_plan"] == "free"


@pytest.mark.parametrize("body,code", [
    ({"subscription_plan": ""}, "validation_error"),
    ({"subscription_plan": 5}, "validation_error"),
    ({"subscription_status": "x" * 33}, "validation_error"),
    ({}, "validation_error"),
    ({"plan": "pro"}, "unknown_field"),
])
def test_bad_subscription_bodies_change_nothing(api, service, body, code):
    api.create("auth0|alice")
    response = api.call("PUT", "/api/internal/users/auth0|alice/subscription/", headers=service,
                        body=body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    account = Account.objects.get()
    assert (account.subscription_plan, account.subscription_status) == ("free", "none")
