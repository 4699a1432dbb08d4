"""Fixtures of the host project's test run: a fake Auth0 tenant, a private Redis, a client.

The fake tenant and the Redis server are the main suite's own helpers, loaded by file path
because the main suite's package is not importable here (see run.py).
"""

import importlib.util
import json
import logging
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent.parent / "support"


def _support(name: str):
    spec = importlib.util.spec_from_file_location(f"host_support_{name}", SUPPORT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fake_auth0():
    server = _support("fake_auth0").FakeAuth0()
    yield server
    server.close()


@pytest.fixture(scope="session", autouse=True)
def _log_guard(django_db_setup):
    """Every log record of the run, at every level, checked for tokens and token hashes."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    guard = _support("log_guard").LogGuard()
    guard.install()
    yield guard
    guard.uninstall()
    root.setLevel(level)
    assert guard.records > 0
    leaks = guard.found()
    assert not leaks, "secrets in log records:\n" + "\n".join(leaks[:20])


@pytest.fixture(scope="session")
def host_redis():
    server = _support("servers").RedisServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _session_app(fake_auth0, host_redis, settings):
    """The host's settings dict, pointed at the fake tenant and the private Redis; a clean
    Redis and fresh app caches for every test."""
    from sessions_api.identity.jwks import jwks_cache
    from sessions_api.store import session_store
    from sessions_api.store.connection import reset_clients

    host_redis.client().flushdb()
    session_store.redis_breaker.tripped, session_store.redis_breaker.open_until = False, 0.0
    fake_auth0.reset()
    jwks_cache.clear_local()
    settings.SESSIONS_API = {
        **settings.SESSIONS_API,
        "REDIS_URL": host_redis.url,
        "AUTH0_ISSUER": fake_auth0.issuer,
        "AUTH0_AUDIENCE": fake_auth0.audience,
    }
    reset_clients()
    yield
    reset_clients()


class HostClient:
    """Calls the host's URLs: the session app's under ``/api/sessions/`` and the host's own."""

    def __init__(self, fake_auth0, client):
        self.fake = fake_auth0
        self.client = client

    def call(self, method, path, *, body=None, session=None, bearer=None, headers=None):
        extra = dict(headers or {})
        if session is not None:
            extra["HTTP_AUTHORIZATION"] = f"Session {session}"
        if bearer is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
        data = "" if body is None else json.dumps(body)
        return self.client.generic(method, path, data=data, content_type="application/json",
                                   **extra)

    def create(self, sub="auth0|alice", **claims):
        claims.setdefault("email", f"{sub.split('|')[-1]}@example.com")
        claims.setdefault("name", sub.split("|")[-1].title())
        response = self.call("POST", "/api/sessions/create/", bearer=self.fake.token(sub, **claims))
        assert response.status_code == 201, response.content
        return response.json()


@pytest.fixture
def host(fake_auth0, client, db):
    return HostClient(fake_auth0, client)
