"""Two web instances (two gunicorn processes on their own ports, one Redis, one database):
whatever one does, the other sees on its very next request."""

import pytest
from django.conf import settings as django_settings

from .support.web import WebInstance, production_env

pytestmark = pytest.mark.slow


@pytest.fixture
def instances(transactional_db, fake_auth0):
    env = production_env(fake_auth0, redis_url=django_settings.SESSIONS_API["REDIS_URL"])
    pair = [WebInstance(env), WebInstance(env)]
    try:
        yield pair
    finally:
        for instance in pair:
            instance.stop()


def test_each_change_on_one_instance_is_seen_at_once_on_the_other(instances, fake_auth0):
    """One test, so the two servers start once (starting them is most of its time)."""
    a, b = instances
    token = a.create(fake_auth0.token("auth0|ann", email="ann@example.com", name="Ann"))
    status, session = b.current(token)
    assert status == 200 and session["user"]["auth0_sub"] == "auth0|ann"

    status, _ = b.call("PATCH", "/api/sessions/update/", auth=f"Session {token}",
                       body={"onboarding_completed": True, "data": {"seen_on": "b"}})
    assert status == 200
    status, seen = a.current(token)
    assert (seen["onboarding_completed"], seen["data"]) == (True, {"seen_on": "b"})

    status, rotated = a.call("POST", "/api/sessions/refresh/", auth=f"Session {token}", body={})
    assert status == 200
    assert b.current(token)[1]["code"] == "session_revoked"
    token = rotated["token"]
    assert b.current(token)[0] == 200

    assert b.call("DELETE", "/api/sessions/current/", auth=f"Session {token}")[0] == 204
    status, refused = a.current(token)
    assert (status, refused["code"]) == (401, "session_revoked")

    # A user-level change and revoke-all, across instances.
    access_token = fake_auth0.token("auth0|bob", email="bob@example.com", name="Bob")
    on_a, on_b = a.create(access_token), b.create(access_token)
    assert b.current(on_b)[1]["needs_onboarding"] is True

    assert a.call("PATCH", "/api/sessions/update/", auth=f"Session {on_a}",
                  body={"needs_onboarding": False})[0] == 200
    assert b.current(on_b)[1]["needs_onboarding"] is False  # the user's state, on every session

    status, revoked = a.call("POST", "/api/sessions/logout-all/", auth=f"Session {on_a}",
                             body={"include_current": True})
    assert (status, revoked) == (200, {"revoked": 2})
    assert [b.current(token)[0] for token in (on_a, on_b)] == [401, 401]
    assert [a.current(token)[0] for token in (on_a, on_b)] == [401, 401]
