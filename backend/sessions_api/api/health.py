"""``/api/health/live/`` (the process answers) and ``/api/health/ready/`` (its stores do)."""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from ..store import session_store


def _probe(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # a probe reports, it does not raise
        status = {"status": "down", "error": type(error).__name__}
    else:
        status = {"status": "up"}
    status["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return status


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker():
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as broker:
        broker.ensure_connection(max_retries=1, timeout=1)


def live(request):
    response = JsonResponse({"status": "ok"})
    response["Cache-Control"] = "no-store"
    return response


def ready(request):
    checks = {"redis": _probe(session_store.hot.ping), "database": _probe(_database)}
    if getattr(settings, "CELERY_BROKER_URL", None):
        checks["broker"] = _probe(_broker)
    healthy = all(check["status"] == "up" for check in checks.values())
    response = JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks},
                            status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response

