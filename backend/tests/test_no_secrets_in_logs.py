"""No log record carries a session token or a stored token hash (SPEC section 7).

The whole run is watched by the ``_log_guard`` fixture in conftest; these tests show the
guard catches what it must, and walk every path that logs with all levels switched on."""

import logging
import uuid
from urllib.parse import urlencode

import pytest

from sessions_api.models import Session
from sessions_api.services.backchannel import BACKCHANNEL_EVENT

from .support.log_guard import LogGuard


@pytest.fixture
def guard():
    guard = LogGuard()
    guard.install()
    yield guard
    guard.uninstall()


def probe(guard, msg, *args, **extra):
    """Hand a record to this guard only: the run's own guard must not see the planted leaks."""
    record = logging.makeLogRecord({"name": "probe", "msg": msg, "args": args, **extra})
    guard.handle(record)


def test_the_guard_catches_a_token_and_a_stored_hash(api):
    guard = LogGuard()
    guard.install()
    token = api.create()["token"]
    guard.uninstall()
    stored = Session.objects.get().token_hash
    probe(guard, "token %s", token)
    probe(guard, "plain", h=stored.upper())
    probe(guard, "not a stored hash %s", "ab" * 32)
    probe(guard, "failed", exc_info=(ValueError, ValueError(f"bad {token}"), None))
    found = guard.found()
    assert len(found) == 3
    assert "session token" in found[0] and "token hash" in found[-1]


def test_every_logging_path_keeps_secrets_out(api, fake_auth0, guard, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.SESSIONS_API = {**settings.SESSIONS_API, "MAX_PER_USER": 2, "AUTH0_CLIENT_ID": "c",
                             "CREATE_RATE_USER": "4/m", "SERVICE_API_TOKEN": "s" * 32}
    tokens = [api.create(sid="sid-1")["token"] for _ in range(3)]  # one revoked by the limit
    refreshed = api.call("POST", "/api/sessions/refresh/", session=tokens[1]).json()["token"]
    api.update(refreshed, {"data": {"note": tokens[2]}})
    api.call("GET", "/api/sessions/", session=refreshed)
    api.call("POST", "/api/sessions/logout-all/", session=refreshed, body={})
    for _ in range(25):
        api.current("sst_" + "Z" * 43)
    api.current(tokens[1])
    api.create()
    api.call("POST", "/api/sessions/create/", bearer=fake_auth0.token())  # rate limited
    api.call("POST", "/api/internal/users/auth0|alice/revoke-sessions/",
             headers={"HTTP_AUTHORIZATION": "Service " + "s" * 32})
    logout = fake_auth0.token(aud="c", jti=uuid.uuid4().hex, events={BACKCHANNEL_EVENT: {}})
    api.call("POST", "/api/sessions/backchannel-logout/", raw=urlencode({"logout_token": logout}),
             content_type="application/x-www-form-urlencoded")
    api.logout(refreshed)
    assert guard.records > 10
    assert guard.found() == []
