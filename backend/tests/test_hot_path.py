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
