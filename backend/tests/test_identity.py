"""Access-token checks of SPEC section 8, against a real JWKS served on loopback."""

import base64
import json
import time

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization

from sessions_api.identity.jwks import JWKSCache, jwks_cache
from sessions_api.models import Account, Session

from .support.fake_auth0 import public_jwk, rsa_key

CREATE = "/api/sessions/create/"


def create_with(api, token):
    return api.call("POST", CREATE, bearer=token)


def assert_refused(response, code="token_invalid", *, sessions=0):
    assert response.status_code == 401, response.content
    assert response.json()["code"] == code
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"]
    assert Session.objects.count() == sessions  # nothing was created


def test_valid_token_is_accepted(api, fake_auth0):
    assert create_with(api, fake_auth0.token()).status_code == 201


def test_missing_bearer(api):
    assert_refused(api.call("POST", CREATE), "token_missing")


def test_wrong_audience(api, fake_auth0):
    assert_refused(create_with(api, fake_auth0.token(aud="https://someone-else/")))


def test_wrong_issuer(api, fake_auth0):
    assert_refused(create_with(api, fake_auth0.token(iss="https://evil.example.com/")))


def test_issuer_must_match_exactly(api, fake_auth0):
    assert_refused(create_with(api, fake_auth0.token(iss=fake_auth0.issuer.rstrip("/"))))


def test_expired(api, fake_auth0):
    past = int(time.time()) - 3600
    assert_refused(create_with(api, fake_auth0.token(iat=past - 600, exp=past)), "token_expired")


def test_expiry_within_leeway_is_accepted(api, fake_auth0):
    now = int(time.time())
    assert create_with(api, fake_auth0.token(exp=now - 30)).status_code == 201


def test_not_before_in_the_future(api, fake_auth0):
    assert_refused(create_with(api, fake_auth0.token(nbf=int(time.time()) + 3600)))


@pytest.mark.parametrize("claim", ["exp", "sub", "iat"])
def test_required_claims(api, fake_auth0, claim):
    assert_refused(create_with(api, fake_auth0.token(omit=[claim])))


def _unsigned(payload: dict, header: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(payload)}."


def test_alg_none_is_refused(api, fake_auth0):
    claims = jwt.decode(fake_auth0.token(), options={"verify_signature": False})
    assert_refused(create_with(api, _unsigned(claims, {"alg": "none", "kid": "key-1"})))


def test_hs256_signed_with_the_public_key_is_refused(api, fake_auth0):
    claims = jwt.decode(fake_auth0.token(), options={"verify_signature": False})
    public_pem = fake_auth0.keys["key-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": "key-1", "typ": "JWT"}
    signing_input = _unsigned(claims, header)[:-1].encode()
    import hashlib
    import hmac
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    encoded = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    forged = signing_input.decode() + "." + encoded
    assert_refused(create_with(api, forged))


def test_token_signed_by_a_foreign_key_is_refused(api, fake_auth0):
    assert_refused(create_with(api, fake_auth0.token(key=rsa_key(), kid="key-1")))


def test_jku_and_embedded_jwk_headers_are_ignored(api, fake_auth0):
    attacker = rsa_key()
    headers = {"jku": "http://127.0.0.1:1/evil.json", "jwk": public_jwk(attacker, "evil"),
               "x5u": "http://127.0.0.1:1/cert"}
    assert_refused(create_with(api, fake_auth0.token(key=attacker, kid="evil", headers=headers)))
    # And a genuine token with such headers is judged on its real signature only.
    genuine = fake_auth0.token(headers={"jku": "http://127.0.0.1:1/x"})
    assert create_with(api, genuine).status_code == 201


def test_crit_header_is_refused(api, fake_auth0):
    assert_refused(create_with(api, fake_auth0.token(headers={"crit": ["exp"]})))


@pytest.mark.parametrize("claims", [{"sub": "abc123@clients"}, {"gty": "client-credentials"}])
def test_machine_to_machine_tokens_are_refused(api, fake_auth0, claims):
    sub = claims.pop("sub", "auth0|robot")
    assert_refused(create_with(api, fake_auth0.token(sub, **claims)))


def test_garbage_is_refused(api):
    assert_refused(create_with(api, "not-a-jwt"))


def test_key_rotation_is_picked_up(api, fake_auth0):
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert create_with(api, fake_auth0.token()).status_code == 201
        fake_auth0.rotate()
        traveller.shift(31)  # past the re-fetch cooldown
        assert create_with(api, fake_auth0.token()).status_code == 201
    assert fake_auth0.jwks_fetches == 2


def test_rotation_within_the_cooldown_waits_for_it(api, fake_auth0):
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert create_with(api, fake_auth0.token()).status_code == 201
        fake_auth0.rotate()
        assert_refused(create_with(api, fake_auth0.token()), sessions=1)
        traveller.shift(31)
        assert create_with(api, fake_auth0.token()).status_code == 201


def test_rotation_seen_by_one_worker_is_seen_by_all(api, fake_auth0):
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert create_with(api, fake_auth0.token()).status_code == 201
        fake_auth0.rotate()
        traveller.shift(31)
        other_worker = JWKSCache()
        other_worker.signing_key(fake_auth0.current_kid)  # fetches the rotated set, shares it
        assert fake_auth0.jwks_fetches == 2
        # This process has stale keys, but finds the new kid in the shared copy: no fetch.
        assert create_with(api, fake_auth0.token()).status_code == 201
    assert fake_auth0.jwks_fetches == 2


def test_unknown_kids_cause_at_most_one_fetch_per_cooldown(api, fake_auth0):
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert create_with(api, fake_auth0.token()).status_code == 201
        traveller.shift(31)
        for index in range(20):
            response = create_with(api, fake_auth0.token(key=rsa_key(), kid=f"unknown-{index}"))
            assert_refused(response, sessions=1)
        assert fake_auth0.jwks_fetches == 2  # the first fetch, then one for the whole burst
        jwks_cache.clear_local()  # a fresh worker process shares the same cooldown
        response = create_with(api, fake_auth0.token(key=rsa_key(), kid="unknown-x"))
        assert_refused(response, sessions=1)
        assert fake_auth0.jwks_fetches == 2
        traveller.shift(31)
        assert_refused(create_with(api, fake_auth0.token(key=rsa_key(), kid="unknown-y")),
                       sessions=1)
    assert fake_auth0.jwks_fetches == 3


def test_jwks_down_with_cached_keys_keeps_working(api, fake_auth0, settings):
    assert create_with(api, fake_auth0.token()).status_code == 201
    fake_auth0.jwks_down = True
    settings.SESSIONS_API = {**settings.SESSIONS_API, "JWKS_CACHE_SECONDS": 0,
                             "JWKS_REFETCH_COOLDOWN": 0}
    assert create_with(api, fake_auth0.token("auth0|bob")).status_code == 201


def test_jwks_down_without_keys_is_identity_provider_unavailable(api, fake_auth0):
    fake_auth0.jwks_down = True
    response = create_with(api, fake_auth0.token())
    assert response.status_code == 503
    assert response.json()["code"] == "identity_provider_unavailable"


def test_jwks_down_does_not_affect_existing_sessions(api, fake_auth0):
    token = api.create()["token"]
    fake_auth0.jwks_down = True
    assert api.current(token).status_code == 200


def test_slow_jwks_times_out(api, fake_auth0, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "JWKS_FETCH_TIMEOUT": 0.3}
    fake_auth0.jwks_delay = 1.0
    started = time.monotonic()
    response = create_with(api, fake_auth0.token())
    assert response.status_code == 503
    assert time.monotonic() - started < 0.9


def test_email_and_name_from_userinfo_when_the_token_lacks_them(api, fake_auth0):
    fake_auth0.profiles["auth0|carol"] = {"email": "carol@example.com", "name": "Carol"}
    response = create_with(api, fake_auth0.token("auth0|carol"))
    assert response.status_code == 201
    assert response.json()["session"]["user"]["email"] == "carol@example.com"
    assert fake_auth0.userinfo_calls == 1


def test_userinfo_failure_does_not_fail_the_login(api, fake_auth0):
    fake_auth0.userinfo_down = True
    response = create_with(api, fake_auth0.token("auth0|dave"))
    assert response.status_code == 201
    assert response.json()["session"]["user"]["email"] == ""
    assert Account.objects.get(subject="auth0|dave").email == ""
