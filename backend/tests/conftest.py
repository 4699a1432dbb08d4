import json
import uuid
from urllib.parse import urlencode

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection as db_connection
from redis.cluster import RedisCluster

from sessions_api.identity.jwks import jwks_cache
from sessions_api.ops.figures import auth_failures
from sessions_api.services.backchannel import BACKCHANNEL_EVENT
from sessions_api.store import incarnation, session_store
from sessions_api.store.audit import database_breaker
from sessions_api.store.connection import reset_clients

from .support.backchannel import CLIENT_ID, PATH
from .support.cluster import three_master_cluster
from .support.fake_auth0 import FakeAuth0
from .support.hot_path_client import HotPathClient
from .support.log_guard import LogGuard
from .support.servers import RedisServer, TcpProxy


@pytest.fixture(scope="session")
def fake_auth0():
    server = FakeAuth0()
    yield server
    server.close()


@pytest.fixture(scope="session", autouse=True)
def _log_guard():
    """Every log record of the whole run; the run fails if one carries a token or a hash."""
    guard = LogGuard()
    guard.install()
    yield guard
    guard.uninstall()
    leaks = guard.found()
    assert not leaks, "secrets in log records:\n" + "\n".join(leaks[:20])


@pytest.fixture(autouse=True)
def _isolated(fake_auth0, settings):
    """Each test: a clean Redis db of its own, a fresh fake tenant, fresh caches."""
    connection = redis.Redis.from_url(django_settings.SESSIONS_API["REDIS_URL"],
                                      decode_responses=True)
    connection.flushdb()
    incarnation.verify(connection.execute_command)  # it starts empty: nothing to fear
    connection.close()
    fake_auth0.reset()
    jwks_cache.clear_local()
    settings.SESSIONS_API = {
        **django_settings.SESSIONS_API,
        "AUTH0_ISSUER": fake_auth0.issuer,
        "AUTH0_AUDIENCE": fake_auth0.audience,
    }
    session_store.reset()
    database_breaker.reset()
    yield
    reset_clients()


@pytest.fixture
def redis_conn():
    connection = redis.Redis.from_url(django_settings.SESSIONS_API["REDIS_URL"],
                                      decode_responses=True)
    yield connection
    connection.close()


class Api:
    """A client that speaks the contract: JSON bodies, ``Session`` and ``Bearer`` headers."""

    def __init__(self, fake_auth0):
        self.client = HotPathClient()  # GET /current through the hot path, as served
        self.fake = fake_auth0

    def call(self, method, path, *, body=None, raw=None, session=None, bearer=None,
             content_type="application/json", headers=None):
        extra = dict(headers or {})
        if session is not None:
            extra["HTTP_AUTHORIZATION"] = f"Session {session}"
        if bearer is not None:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        if method == "GET":
            return self.client.get(path, **extra)
        return self.client.generic(method, path, data=data, content_type=content_type, **extra)

    def create(self, sub="auth0|alice", body=None, **claims):
        claims.setdefault("email", f"{sub.split('|')[-1]}@example.com")
        claims.setdefault("name", sub.split("|")[-1].title())
        response = self.call("POST", "/api/sessions/create/", bearer=self.fake.token(sub, **claims),
                             body=body)
        assert response.status_code == 201, response.content
        return response.json()

    def current(self, token, **kwargs):
        return self.call("GET", "/api/sessions/current/", session=token, **kwargs)

    def update(self, token, body, **kwargs):
        return self.call("PATCH", "/api/sessions/update/", session=token, body=body, **kwargs)

    def logout(self, token):
        return self.call("DELETE", "/api/sessions/current/", session=token)


@pytest.fixture
def api(fake_auth0, db):
    return Api(fake_auth0)


@pytest.fixture(scope="session")
def cluster_url():
    """A three-master Redis Cluster of the run's own (one per xdist worker that needs it)."""
    with three_master_cluster() as url:
        yield url


@pytest.fixture
def on_cluster(cluster_url, settings):
    """The store on that cluster for one test, the cluster flushed first."""
    settings.SESSIONS_API = {**settings.SESSIONS_API, "REDIS_URL": cluster_url,
                             "REDIS_CLUSTER": True}
    reset_clients()
    client = RedisCluster.from_url(cluster_url, decode_responses=True)
    client.flushall()
    auth_failures.pending, auth_failures.flushed_at = 0, 0.0
    yield client
    client.close()
    reset_clients()


@pytest.fixture
def own_redis(settings):
    server = RedisServer()
    proxy = TcpProxy(server.port)
    settings.SESSIONS_API = {**settings.SESSIONS_API,
                             "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0"}
    reset_clients()
    server.proxy = proxy
    yield server
    reset_clients()
    proxy.close()
    server.close()


@pytest.fixture
def database_proxy():
    proxy = TcpProxy(int(db_connection.settings_dict["PORT"] or 5432))
    original = db_connection.settings_dict["PORT"]
    db_connection.close()
    db_connection.settings_dict["PORT"] = proxy.port
    yield proxy
    proxy.restore()
    db_connection.close()
    db_connection.settings_dict["PORT"] = original
    proxy.close()


@pytest.fixture
def backchannel(settings, fake_auth0, api):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "AUTH0_CLIENT_ID": CLIENT_ID}

    def logout_token(sub="auth0|alice", omit=(), **claims):
        claims = {"aud": CLIENT_ID, "jti": uuid.uuid4().hex,
                  "events": {BACKCHANNEL_EVENT: {}}, **claims}
        return fake_auth0.token(sub, omit=omit, **claims)

    def post(token=None, raw=None, content_type="application/x-www-form-urlencoded"):
        data = raw if raw is not None else urlencode({"logout_token": token})
        return api.call("POST", PATH, raw=data, content_type=content_type)

    return logout_token, post
