"""``/api/health/live/`` and ``/api/health/ready/`` against the real stores, and with each
dependency pointed at a closed port."""

import pytest
from django.db import connection

from sessions_api.store.connection import reset_clients

from .support.servers import free_port

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.mark.parametrize("path", ["/api/health/live/", "/api/health/live"])
def test_live_answers_without_any_store(api, settings, path):
    settings.SESSIONS_API = {**settings.SESSIONS_API,
                             "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    reset_clients()
    response = api.call("GET", path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_ready_reports_each_dependency_with_its_latency(api, settings):
    settings.CELERY_BROKER_URL = RABBITMQ
    response = api.call("GET", "/api/health/ready/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"redis", "database", "broker"}
    for check in body["checks"].values():
        assert check["status"] == "up"
        assert 0 <= check["latency_ms"] < 2000


def test_redis_down_is_503_naming_redis(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API,
                             "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    reset_clients()
    response = api.call("GET", "/api/health/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["status"] == "down"
    assert checks["redis"]["error"] == "ConnectionError"
    assert checks["database"]["status"] == "up"
    assert response.json()["status"] == "unavailable"


def test_broker_down_is_503_naming_the_broker(api, settings):
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    response = api.call("GET", "/api/health/ready/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "down"
    assert checks["redis"]["status"] == checks["database"]["status"] == "up"
    assert checks["broker"]["latency_ms"] < 5000


@pytest.mark.django_db(transaction=True)
def test_database_down_is_503_naming_the_database(api):
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = free_port()
    try:
        response = api.call("GET", "/api/health/ready/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "down"
    assert checks["database"]["error"] == "OperationalError"
    assert checks["redis"]["status"] == "up"
