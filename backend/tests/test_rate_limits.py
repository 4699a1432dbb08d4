"""Create is rate-limited per user and per IP, in Redis; unknown-token bursts are seen."""

import logging

import pytest
import time_machine

from sessions_api.api.abuse import BURST_PER_MINUTE
from sessions_api.metrics import UNKNOWN_TOKEN_BURSTS, UNKNOWN_TOKENS
from sessions_api.models import Session
from sessions_api.store import session_store


def create(api, fake_auth0, sub="auth0|alice", ip="127.0.0.1"):
    return api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token(sub),
                    headers={"REMOTE_ADDR": ip})


@pytest.fixture
def limits(settings):
    def set_limits(user="1000/m", ip="1000/m"):
        settings.SESSIONS_API = {**settings.SESSIONS_API, "CREATE_RATE_USER": user,
                                 "CREATE_RATE_IP": ip, "MAX_PER_USER": 100}
    return set_limits


def test_per_user_limit_answers_429_with_retry_after(api, fake_auth0, limits):
    limits(user="3/m")
    with time_machine.travel(1_900_000_010, tick=False):
        assert [create(api, fake_auth0).status_code for _ in range(3)] == [201] * 3
        refused = create(api, fake_auth0)
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert refused["Retry-After"] == "10"  # the window ends at the next whole minute
        assert create(api, fake_auth0, "auth0|bob").status_code == 201
    assert Session.objects.filter(account__subject="auth0|alice").count() == 3
    with time_machine.travel(1_900_000_061, tick=False):
        assert create(api, fake_auth0).status_code == 201


def test_per_ip_limit_holds_across_users(api, fake_auth0, limits):
    limits(ip="2/m")
    with time_machine.travel(1_900_000_000, tick=False):
        assert create(api, fake_auth0, "auth0|a", ip="198.51.100.1").status_code == 201
        assert create(api, fake_auth0, "auth0|b", ip="198.51.100.1").status_code == 201
        refused = create(api, fake_auth0, "auth0|c", ip="198.51.100.1")
        assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
        assert create(api, fake_auth0, "auth0|c", ip="198.51.100.2").status_code == 201


def test_invalid_access_tokens_count_against_the_ip(api, limits):
    limits(ip="2/m")
    with time_machine.travel(1_900_000_000, tick=False):
        for _ in range(2):
            response = api.call("POST", "/api/sessions/create/", bearer="not-a-jwt")
            assert response.json()["code"] == "token_invalid"
        assert api.call("POST", "/api/sessions/create/", bearer="x").status_code == 429


def test_limits_live_in_redis_so_every_instance_shares_them(api, fake_auth0, limits, redis_conn):
    limits(user="2/m")
    with time_machine.travel(1_900_000_000, tick=False):
        create(api, fake_auth0)
        create(api, fake_auth0)
        keys = list(redis_conn.scan_iter("ss:rl:create-user:*"))
        assert len(keys) == 1 and redis_conn.get(keys[0]) == "2"
        assert 0 < redis_conn.pttl(keys[0]) <= 60_000


def test_limits_are_not_enforced_while_redis_is_down(api, fake_auth0, limits, settings):
    limits(user="1/m", ip="1/m")
    session_store.redis_breaker.tripped = True
    session_store.redis_breaker.open_until = float("inf")
    assert [create(api, fake_auth0).status_code for _ in range(3)] == [201] * 3


def test_a_burst_of_unknown_tokens_is_logged_and_counted(api, caplog):
    unknown = "sst_" + "A" * 43
    counted, bursts = UNKNOWN_TOKENS._value.get(), UNKNOWN_TOKEN_BURSTS._value.get()
    with caplog.at_level(logging.WARNING, logger="sessions_api.abuse"):
        for _ in range(BURST_PER_MINUTE + 5):
            assert api.current(unknown).json()["code"] == "session_invalid"
        api.call("GET", "/api/sessions/", session="sst_malformed")
    assert UNKNOWN_TOKENS._value.get() == counted + BURST_PER_MINUTE + 6
    assert UNKNOWN_TOKEN_BURSTS._value.get() == bursts + 1
    warnings = [r for r in caplog.records if r.name == "sessions_api.abuse"]
    assert len(warnings) == 1 and warnings[0].client_ip == "127.0.0.1"
    assert unknown not in warnings[0].getMessage() and "sst_" not in str(warnings[0].__dict__)
    exposed = api.client.get("/metrics").content.decode()
    assert "session_unknown_token_total" in exposed
    assert "session_unknown_token_bursts_total" in exposed
