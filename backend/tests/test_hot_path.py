"""The hot path: ``GET /current`` costs no SQL and one Redis round trip, sliding or not; a
host project's DRF view authenticated by our class costs no SQL until it touches the user."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.connection import AbstractConnection
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView


class RoundTrips:
    """Counts requests sent to Redis by this process: one per command, one per pipeline."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = AbstractConnection.send_packed_command

        def counted(connection_, command, check_health=True):
            self.count += 1
            return original(connection_, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)


@pytest.fixture
def round_trips(monkeypatch):
    return RoundTrips(monkeypatch)


def later(seconds: float):
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False)


def test_current_costs_no_sql_and_one_redis_round_trip(api, round_trips,
                                                        django_assert_num_queries):
    token = api.create()["token"]
    assert api.current(token).status_code == 200  # the connection and the script are ready
    round_trips.count = 0
    with django_assert_num_queries(0):
        response = api.current(token)
    assert response.status_code == 200
    assert round_trips.count == 1


def test_a_sliding_current_is_still_one_round_trip(api, round_trips, redis_conn,
                                                   django_assert_num_queries):
    token = api.create()["token"]
    before = api.current(token).json()["last_activity_at"]
    with later(120):
        round_trips.count = 0
        with django_assert_num_queries(0):
            response = api.current(token)
        assert round_trips.count == 1
    assert response.json()["last_activity_at"] > before  # the idle deadline did slide
    assert any(key.startswith("ss:a:") for key in redis_conn.keys("ss:a:*"))


def test_the_round_trip_counter_counts_requests_not_commands(api, round_trips, redis_conn):
    """The counter is not blind: a create makes several Redis calls and it counts them; a
    pipeline of three commands is one round trip."""
    api.create()
    assert round_trips.count >= 3
    redis_conn.ping()  # connects: the handshake is several requests
    round_trips.count = 0
    redis_conn.ping()
    assert round_trips.count == 1
    redis_conn.pipeline().ping().ping().ping().execute()
    assert round_trips.count == 2


class HostView(APIView):
    """A host project's view; the default authentication class is ``SessionTokenAuthentication``."""

    def get(self, request):
        body = {"session": request.auth.id}
        if request.query_params.get("who"):
            body["username"] = request.user.get_username()
        return Response(body)


def test_a_host_view_costs_no_sql_until_it_touches_the_user(api, round_trips):
    token = api.create()["token"]
    factory = APIRequestFactory()
    header = {"HTTP_AUTHORIZATION": f"Session {token}"}
    HostView.as_view()(factory.get("/host/", **header))  # warm
    round_trips.count = 0
    with CaptureQueriesContext(connection) as queries:
        response = HostView.as_view()(factory.get("/host/", **header))
    assert response.status_code == 200
    assert len(queries) == 0
    assert round_trips.count == 1
    with CaptureQueriesContext(connection) as queries:
        response = HostView.as_view()(factory.get("/host/?who=1", **header))
    assert response.data["username"]
    assert len(queries) == 1


def test_the_admin_keeps_its_middleware_and_the_api_skips_it(api, admin_user):
    """Cookie sessions, CSRF and X-Frame-Options run under /admin/ only."""
    strict = Client(enforce_csrf_checks=True)
    assert strict.get("/admin/login/")["X-Frame-Options"] == "DENY"
    credentials = {"username": admin_user.username, "password": "password"}
    assert strict.post("/admin/login/", credentials).status_code == 403  # no CSRF token
    client = Client()
    assert client.post("/admin/login/?next=/admin/", credentials).status_code == 302
    assert client.get("/admin/sessions_api/session/").status_code == 200

    token = api.create()["token"]
    response = api.current(token)
    assert "X-Frame-Options" not in response and not response.cookies


# The hot path (config/hot_path.py) against Django's whole cycle for the same requests.

def both_routes(**client_options):
    """The hot path's client and a plain Django test client (the whole cycle)."""
    from .support.hot_path_client import HotPathClient

    return HotPathClient(**client_options), Client(**client_options)


def comparable(response) -> tuple:
    headers = {name: value for name, value in response.items()}
    return response.status_code, response.content, headers


def test_the_hot_path_answers_what_django_s_cycle_answers(api, redis_conn):
    live = api.create("auth0|alice")["token"]
    revoked = api.create("auth0|bob")["token"]
    api.logout(revoked)
    expired = api.create("auth0|carol")["token"]
    redis_conn.delete(*redis_conn.keys("ss:t:*"))  # carol restored from the audit copy...
    from sessions_api.models import Session
    Session.objects.filter(account__user__username__contains="carol").update(
        absolute_expires_at=datetime.now(UTC) - timedelta(seconds=1))  # ...as expired
    cases = {
        "live": {"HTTP_AUTHORIZATION": f"Session {live}"},
        "revoked": {"HTTP_AUTHORIZATION": f"Session {revoked}"},
        "expired": {"HTTP_AUTHORIZATION": f"Session {expired}"},
        "unknown": {"HTTP_AUTHORIZATION": "Session sst_" + "A" * 43},
        "malformed": {"HTTP_AUTHORIZATION": "Session nope"},
        "other scheme": {"HTTP_AUTHORIZATION": "Bearer abc"},
        "no header": {},
    }
    hot, django = both_routes()
    for name, headers in cases.items():
        headers = {**headers, "HTTP_X_REQUEST_ID": f"case-{name.replace(' ', '-')}"}
        for path in ("/api/sessions/current/", "/api/sessions/current"):
            ours, theirs = hot.get(path, **headers), django.get(path, **headers)
            assert comparable(ours) == comparable(theirs), (name, path)
            assert ours.wsgi_request.resolver_match is None  # it did skip the resolver
    assert hot.get("/api/sessions/current/")["X-Request-ID"] != \
        hot.get("/api/sessions/current/")["X-Request-ID"]  # made per request when not given


def test_the_hot_path_writes_the_same_access_line_and_metrics(api, caplog):
    from sessions_api.metrics import REQUEST_LATENCY, VALIDATE_OUTCOMES, metrics_flush

    token = api.create()["token"]
    hot, django = both_routes()
    lines, counted = [], []
    for client in (hot, django):
        metrics_flush()
        before = (REQUEST_LATENCY.labels("sessions_api:current", "GET")._sum.get(),
                  VALIDATE_OUTCOMES.labels("ok")._value.get())
        caplog.clear()
        with caplog.at_level("INFO", logger="sessions_api.access"):
            client.get("/api/sessions/current/", HTTP_AUTHORIZATION=f"Session {token}",
                       HTTP_X_REQUEST_ID="same")
        metrics_flush()
        after = (REQUEST_LATENCY.labels("sessions_api:current", "GET")._sum.get(),
                 VALIDATE_OUTCOMES.labels("ok")._value.get())
        counted.append((after[0] > before[0], after[1] - before[1]))
        [record] = [r for r in caplog.records if r.name == "sessions_api.access"]
        lines.append({name: getattr(record, name) for name in
                      ("method", "path", "status", "session_id", "request_id")})
    assert lines[0] == lines[1]
    assert counted == [(True, 1), (True, 1)]


def test_the_hot_path_keeps_the_security_middleware_and_leaves_cors_to_django(settings, api):
    token = api.create()["token"]
    header = {"HTTP_AUTHORIZATION": f"Session {token}"}
    settings.SECURE_SSL_REDIRECT = True
    hot, django = both_routes()  # built after the change, as a restarted server would be
    assert hot.get("/api/sessions/current/", **header)["Location"] == \
        django.get("/api/sessions/current/", **header)["Location"]
    settings.SECURE_SSL_REDIRECT = False
    hot, _ = both_routes()
    with_origin = hot.get("/api/sessions/current/", HTTP_ORIGIN="http://localhost:5173",
                          **header)
    assert with_origin.wsgi_request.resolver_match is not None  # Django's cycle: CORS
    assert with_origin.status_code == 200
    for method in ("head", "patch", "delete", "options"):
        response = getattr(hot, method)("/api/sessions/current/", **header)
        assert response.wsgi_request.resolver_match is not None, method


def test_an_error_on_the_hot_path_is_django_s_500(api, monkeypatch):
    from sessions_api.store import session_store

    token = api.create()["token"]
    monkeypatch.setattr(session_store, "read", lambda token_hash: 1 / 0)
    hot, django = both_routes(raise_request_exception=False)
    ours = hot.get("/api/sessions/current/", HTTP_AUTHORIZATION=f"Session {token}")
    theirs = django.get("/api/sessions/current/", HTTP_AUTHORIZATION=f"Session {token}")
    assert ours.status_code == theirs.status_code == 500
    assert ours.content == theirs.content


def test_the_service_s_wsgi_application_answers_current_without_django_s_cycle(api,
                                                                               monkeypatch):
    """``config.wsgi.application`` is the hot path's handler: GET /current never reaches
    Django's get_response (nor its request signals); anything else does."""
    import io

    from django.core import signals

    from config.hot_path import HotPathWSGIHandler
    from config.wsgi import application

    assert isinstance(application, HotPathWSGIHandler)
    token = api.create()["token"]
    cycles = []
    monkeypatch.setattr(type(application).__mro__[1], "get_response",
                        lambda self, request: cycles.append(request.path) or 1 / 0)
    started = []
    signals.request_started.connect(lambda **kwargs: started.append(1), weak=False,
                                    dispatch_uid="hot-path-test")
    try:
        answered = []
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/sessions/current/",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "wsgi.input": io.BytesIO(),
                   "HTTP_AUTHORIZATION": f"Session {token}", "wsgi.url_scheme": "http"}
        body = b"".join(application(environ, lambda status, headers: answered.append(status)))
    finally:
        signals.request_started.disconnect(dispatch_uid="hot-path-test")
    assert answered == ["200 OK"] and b'"needs_onboarding"' in body
    assert cycles == [] and started == []
