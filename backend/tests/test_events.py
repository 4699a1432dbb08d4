"""The session event stream (SPEC section 12) as ``make events`` serves it: uvicorn on
``config.asgi`` on a free loopback port, against the test database and Redis. Changes are made
through the in-process API (another instance, as far as the stream can tell): only Redis
pub/sub and the shared store carry them to the stream."""

import http.client
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from sessions_api.store import session_store

from .support.servers import free_port
from .support.web import BACKEND, production_env

pytestmark = pytest.mark.slow

UVICORN = Path(sys.executable).parent / "uvicorn"
HEARTBEAT = 1.0
SERVICE_SECRET = "service-secret-for-tests-0123456789"
SERVICE = {"HTTP_AUTHORIZATION": f"Service {SERVICE_SECRET}"}


class EventsInstance:
    """The ASGI process, started the way ``make events`` starts it."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="events-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(UVICORN), "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--lifespan", "off",
             "--timeout-graceful-shutdown", "5"],
            cwd=BACKEND, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.log_text()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/api/health/live/")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                assert time.monotonic() < deadline, "the events process did not answer"
                time.sleep(0.1)

    def log_text(self) -> str:
        return Path(self.log.name).read_text()[-3000:]

    def open(self, token: str) -> "Stream":
        return Stream(self.port, token)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Stream:
    """One ``GET /api/sessions/events/``, read as the SDK reads it."""

    def __init__(self, port: int, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.connection.request("GET", "/api/sessions/events/",
                                headers={"Authorization": f"Session {token}",
                                         "Accept": "text/event-stream"})
        self.response = self.connection.getresponse()
        self.status = self.response.status

    def problem(self) -> dict:
        assert self.response.getheader("Content-Type") == "application/problem+json"
        return json.loads(self.response.read())

    def next(self, within: float) -> tuple[str, str | None] | None:
        """The next event or comment as ``(name, data)`` (a comment's name is ``:``), or
        ``None`` when the stream ended; fails if nothing comes within ``within`` seconds."""
        self.connection.sock.settimeout(within)
        name, data = None, None
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line.startswith(":"):
                return ":", line[1:].strip()
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data = line[len("data: "):]
            elif line == "" and name:
                return name, data

    def event(self, within: float) -> tuple[str, dict | None] | None:
        """The next event, comments skipped, its data decoded."""
        deadline = time.monotonic() + within
        while True:
            found = self.next(max(deadline - time.monotonic(), 0.01))
            if found is None:
                return None
            if found[0] != ":":
                return found[0], json.loads(found[1]) if found[1] else None

    def ends(self, within: float) -> bool:
        deadline = time.monotonic() + within
        while (found := self.next(max(deadline - time.monotonic(), 0.01))) is not None:
            assert found[0] == ":", found
        return True

    def close(self) -> None:
        self.connection.close()


def events_env(fake_auth0, redis_url: str) -> dict:
    return production_env(fake_auth0, redis_url=redis_url,
                          SESSION_EVENTS_HEARTBEAT=str(HEARTBEAT))


@pytest.fixture(scope="module")
def events(django_db_setup, fake_auth0):
    instance = EventsInstance(events_env(fake_auth0, django_settings.SESSIONS_API["REDIS_URL"]))
    yield instance
    instance.stop()


@pytest.fixture
def service(settings, transactional_db):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "SERVICE_API_TOKEN": SERVICE_SECRET}


def opened(events, token: str) -> Stream:
    stream = events.open(token)
    assert stream.status == 200, events.log_text()
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    assert stream.response.getheader("Cache-Control") == "no-store"
    assert stream.response.getheader("X-Accel-Buffering") == "no"
    assert stream.next(2) == (":", "open")
    return stream


def revoked_within_a_second(stream: Stream, reason: str) -> None:
    started = time.monotonic()
    assert stream.event(within=1.5) == ("session.revoked", {"reason": reason})
    assert time.monotonic() - started < 1.0
    assert stream.ends(within=1)


def test_logout_reaches_the_stream_within_a_second(events, api, service):
    token = api.create("auth0|alice")["token"]
    stream = opened(events, token)
    assert api.logout(token).status_code == 204
    revoked_within_a_second(stream, "logout")
    assert events.open(token).problem()["code"] == "session_revoked"


def test_logout_all_from_another_session_reaches_the_stream(events, api, service):
    token = api.create("auth0|alice")["token"]
    other = api.create("auth0|alice")["token"]
    stream = opened(events, token)
    response = api.call("POST", "/api/sessions/logout-all/", session=other, body={})
    assert response.status_code in (200, 204), response.content
    revoked_within_a_second(stream, "others")


def test_the_internal_api_revocation_reaches_the_stream(events, api, service):
    token = api.create("auth0|alice")["token"]
    stream = opened(events, token)
    response = api.call("POST", "/api/internal/users/auth0|alice/revoke-sessions/",
                        headers=SERVICE)
    assert response.json() == {"revoked": 1}
    revoked_within_a_second(stream, "service")


def test_the_back_channel_logout_reaches_the_stream(events, api, fake_auth0, backchannel,
                                                    transactional_db):
    logout_token, post = backchannel
    token = api.create("auth0|alice")["token"]
    stream = opened(events, token)
    assert post(logout_token()).json() == {"revoked": 1}
    revoked_within_a_second(stream, "identity_provider")


def test_a_plan_change_reaches_every_stream_of_the_user(events, api, service):
    tokens = [api.create("auth0|alice")["token"] for _ in range(2)]
    bob = api.create("auth0|bob")["token"]
    streams = [opened(events, token) for token in [*tokens, tokens[0]]]
    bobs = opened(events, bob)
    response = api.call("PUT", "/api/internal/users/auth0|alice/subscription/", headers=SERVICE,
                        body={"subscription_plan": "pro", "subscription_status": "active"})
    assert response.status_code == 200
    for token, stream in zip([*tokens, tokens[0]], streams, strict=True):
        name, session = stream.event(within=1)
        assert name == "session.updated"
        assert (session["subscription_plan"], session["subscription_status"]) == ("pro", "active")
        assert session == api.current(token).json()
    # Bob's stream hears nothing but its heartbeat.
    assert bobs.next(HEARTBEAT + 1) == (":", "heartbeat")


def test_a_fourth_stream_of_a_session_is_refused_and_a_closed_one_frees_its_slot(events, api,
                                                                               service):
    token = api.create("auth0|alice")["token"]
    streams = [opened(events, token) for _ in range(3)]
    refused = events.open(token)
    assert refused.status == 429
    assert refused.problem()["code"] == "rate_limited"
    assert refused.response.getheader("Retry-After")
    other = opened(events, api.create("auth0|alice")["token"])  # a limit per session
    streams[0].close()
    deadline = time.monotonic() + 2
    while (again := events.open(token)).status == 429:
        assert time.monotonic() < deadline, "a closed stream kept its slot"
        time.sleep(0.05)
    assert again.status == 200
    other.close()


def test_a_rotated_token_gets_rotated_and_its_stream_ends(events, api, service):
    token = api.create("auth0|alice")["token"]
    stream = opened(events, token)
    response = api.call("POST", "/api/sessions/refresh/", session=token, body={})
    assert response.status_code == 200
    new_token = response.json()["token"]
    started = time.monotonic()
    assert stream.event(within=1.5) == ("session.rotated", {})
    assert time.monotonic() - started < 1.0
    assert stream.ends(within=1)
    assert opened(events, new_token)


def test_the_stream_rechecks_at_every_heartbeat(events, api, service, redis_conn):
    """A change whose message was lost (written behind the store's back here) is seen at
    the next heartbeat."""
    token = api.create("auth0|alice")["token"]
    stream = opened(events, token)
    for key in redis_conn.scan_iter("ss:t:*"):
        redis_conn.set(key, "!admin", keepttl=True)
    assert stream.event(within=HEARTBEAT + 1) == ("session.revoked", {"reason": "admin"})


@pytest.mark.parametrize("header", [None, "Session sst_nope", "Bearer abc"])
def test_a_stream_without_a_valid_session_is_refused(events, transactional_db, header):
    connection = http.client.HTTPConnection("127.0.0.1", events.port, timeout=5)
    connection.request("GET", "/api/sessions/events/",
                       headers={"Authorization": header} if header else {})
    response = connection.getresponse()
    assert response.status == 401
    assert response.getheader("Content-Type") == "application/problem+json"
    assert json.loads(response.read())["code"] in {"session_missing", "session_invalid"}


def test_a_redis_restart_is_told_within_a_heartbeat_and_nothing_revoked_is_live(
        api, service, own_redis, fake_auth0):
    instance = EventsInstance(events_env(fake_auth0, own_redis.url))
    try:
        token = api.create("auth0|alice")["token"]
        stream = opened(instance, token)
        own_redis.stop()
        # The stream is told: it ends within a heartbeat (the SDK reconnects, backing off).
        assert stream.ends(within=HEARTBEAT + 1)
        # Meanwhile, a logout recorded in the audit copy alone.
        assert api.logout(token).status_code == 204
        own_redis.start()
        refused = instance.open(token)
        assert (refused.status, refused.problem()["code"]) == (401, "session_revoked")
        # A live session's stream works again once Redis is back (for this process too:
        # until its breaker lets it call Redis, its logout reaches Redis only by repair).
        deadline = time.monotonic() + 10
        while api.current(token).json().get("code") != "session_revoked" or \
                session_store.redis_breaker.tripped:
            assert time.monotonic() < deadline, "the store did not come back to Redis"
            time.sleep(0.1)
        survivor = api.create("auth0|alice")["token"]
        stream = opened(instance, survivor)
        assert api.logout(survivor).status_code == 204
        assert stream.event(within=1) == ("session.revoked", {"reason": "logout"})
    finally:
        instance.stop()


def test_on_a_redis_cluster_the_stream_follows_sharded_pub_sub(api, service, on_cluster,
                                                               cluster_url, fake_auth0):
    instance = EventsInstance(events_env(fake_auth0, cluster_url) | {"REDIS_CLUSTER": "1"})
    try:
        tokens = [api.create(f"auth0|user{n}")["token"] for n in range(3)]
        streams = [opened(instance, token) for token in tokens]
        response = api.call("PUT", "/api/internal/users/auth0|user1/subscription/",
                            headers=SERVICE, body={"subscription_plan": "pro"})
        assert response.status_code == 200
        assert streams[1].event(within=1)[1]["subscription_plan"] == "pro"
        for token, stream in zip(tokens, streams, strict=True):
            assert api.logout(token).status_code == 204
            revoked_within_a_second(stream, "logout")
    finally:
        instance.stop()
