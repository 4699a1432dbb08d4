"""Two web instances (two gunicorn processes on their own ports, one Redis, one database):
whatever one does, the other sees on its very next request."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from .support.servers import free_port

BACKEND = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"

pytestmark = pytest.mark.slow


class Instance:
    """One web instance in production mode, on the test database and the test's Redis db."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1"],
            cwd=BACKEND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the instance exited at start-up"
            try:
                if self.call("GET", "/api/health/live/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the instance did not answer within 30 s")

    def call(self, method: str, path: str, *, auth: str | None = None, body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json",
                     **({"Authorization": auth} if auth else {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def create(self, access_token: str) -> str:
        status, body = self.call("POST", "/api/sessions/create/", auth=f"Bearer {access_token}",
                                 body={})
        assert status == 201, body
        return body["token"]

    def current(self, token: str):
        return self.call("GET", "/api/sessions/current/", auth=f"Session {token}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def instances(transactional_db, fake_auth0):
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": django_settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "AUTH0_DOMAIN": "auth0.invalid",
        "AUTH0_ISSUER": fake_auth0.issuer,
        "AUTH0_AUDIENCE": fake_auth0.audience,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}"
                        f"/{database['NAME']}",
        "REDIS_URL": django_settings.SESSIONS_API["REDIS_URL"],
        "CELERY_BROKER_URL": "memory://",
    }
    pair = [Instance(env), Instance(env)]
    try:
        for instance in pair:
            instance.wait()
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
