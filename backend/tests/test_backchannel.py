"""OpenID Connect Back-Channel Logout (SPEC section 6)."""

import time
from urllib.parse import urlencode

import pytest

from sessions_api.models import Session
from sessions_api.services.backchannel import BACKCHANNEL_EVENT

from .support.backchannel import CLIENT_ID, PATH


def create(api, fake_auth0, sub="auth0|alice", **claims):
    response = api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(sub, **claims))
    assert response.status_code == 201
    return response.json()["token"]


def test_logout_by_sid_revokes_only_that_sid(api, fake_auth0, backchannel):
    logout_token, post = backchannel
    first = create(api, fake_auth0, sid="sid-1")
    second = create(api, fake_auth0, sid="sid-2")
    response = post(logout_token(sid="sid-1"))
    assert response.status_code == 200
    assert response.json() == {"revoked": 1}
    assert response["Cache-Control"] == "no-store"
    assert api.current(first).json()["code"] == "session_revoked"
    assert api.current(second).status_code == 200
    assert Session.objects.get(identity_provider_sid="sid-1").revoke_reason == "identity_provider"


def test_logout_without_sid_revokes_every_session_of_the_subject(api, fake_auth0, backchannel):
    logout_token, post = backchannel
    alice = [create(api, fake_auth0, sid="a"), create(api, fake_auth0)]
    bob = create(api, fake_auth0, "auth0|bob")
    assert post(logout_token()).json() == {"revoked": 2}
    assert {api.current(t).json()["code"] for t in alice} == {"session_revoked"}
    assert api.current(bob).status_code == 200


def test_a_replayed_logout_token_is_refused(api, fake_auth0, backchannel):
    logout_token, post = backchannel
    token = logout_token()
    assert post(token).status_code == 200
    survivor = create(api, fake_auth0)
    replay = post(token)
    assert replay.status_code == 400
    assert replay.json()["code"] == "validation_error"
    assert api.current(survivor).status_code == 200


@pytest.mark.parametrize("case", ["wrong_aud", "access_token_aud", "no_events", "wrong_event",
                                  "nonce", "no_jti", "expired", "bad_signature", "not_a_jwt",
                                  "hs256", "sid_not_string"])
def test_bad_logout_tokens_are_refused_and_revoke_nothing(api, fake_auth0, backchannel, case):
    from .support.fake_auth0 import rsa_key

    logout_token, post = backchannel
    session = create(api, fake_auth0, sid="sid-1")
    now = int(time.time())
    tokens = {
        "wrong_aud": lambda: logout_token(aud="another-client"),
        "access_token_aud": lambda: logout_token(aud=fake_auth0.audience),
        "no_events": lambda: logout_token(omit=("events",)),
        "wrong_event": lambda: logout_token(events={"http://example.com/other": {}}),
        "nonce": lambda: logout_token(nonce="n-0S6_WzA2Mj"),
        "no_jti": lambda: logout_token(omit=("jti",)),
        "expired": lambda: logout_token(iat=now - 3600, exp=now - 600),
        "bad_signature": lambda: logout_token(key=rsa_key()),
        "not_a_jwt": lambda: "not-a-jwt",
        "hs256": lambda: __import__("jwt").encode(
            {"iss": fake_auth0.issuer, "aud": CLIENT_ID, "sub": "auth0|alice", "iat": now,
             "exp": now + 60, "jti": "x", "events": {BACKCHANNEL_EVENT: {}}},
            "secret-secret-secret-secret-secret", algorithm="HS256"),
        "sid_not_string": lambda: logout_token(sid=42),
    }
    response = post(tokens[case]())
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert api.current(session).status_code == 200


@pytest.mark.parametrize("raw,content_type,status", [
    ("", "application/x-www-form-urlencoded", 400),
    ("logout_token=a&logout_token=b", "application/x-www-form-urlencoded", 400),
    ('{"logout_token": "x"}', "application/json", 415),
])
def test_malformed_requests(backchannel, raw, content_type, status):
    _, post = backchannel
    response = post(raw=raw, content_type=content_type)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_not_found_when_no_client_id_is_configured(api, fake_auth0):
    response = api.call("POST", PATH, raw=urlencode({"logout_token": fake_auth0.token()}),
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_subject_is_accepted_with_nothing_revoked(backchannel):
    logout_token, post = backchannel
    response = post(logout_token("auth0|stranger"))
    assert response.status_code == 200
    assert response.json() == {"revoked": 0}
