"""``session_metrics``, the metrics snapshot and ``/metrics``."""

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from sessions_api.api.metrics_view import metrics_render
from sessions_api.ops.figures import auth_failures, metrics_snapshot_record, session_metrics_collect
from sessions_api.store import session_store
from sessions_api.store.connection import reset_clients

from .support.servers import free_port

BACKEND = Path(__file__).resolve().parent.parent
UNKNOWN_TOKEN = "sst_" + "A" * 43


@pytest.fixture(autouse=True)
def _fresh_failure_counter():
    auth_failures.pending, auth_failures.flushed_at = 0, 0.0


def sample(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def three_users(api, clock=None):
    alice = [api.create("auth0|alice") for _ in range(3)]
    api.create("auth0|bob")
    api.create("auth0|carol")
    if clock is not None:
        clock.shift(90)  # the session logged out below lasted 90 s
    api.logout(alice[0]["token"])
    return alice


def test_figures_describe_the_sessions(api):
    with time_machine.travel("2031-01-01T00:00:00Z", tick=False) as clock:
        three_users(api, clock)
        figures = session_metrics_collect()
    assert figures["active"] == 4
    assert figures["created_last_hour"] == figures["created_last_day"] == 5
    assert figures["per_user_max"] == 2
    assert figures["per_user_p95"] == 2
    assert figures["duration_avg_seconds"] == 90.0
    assert figures["redis_keys"] == 5  # four live copies and a tombstone
    assert figures["redis_memory_bytes"] > 0
    assert figures["audit_session_rows"] == 5
    assert figures["audit_event_rows"] == 6
    assert figures["audit_bytes"] > 0
    assert figures["awaiting_cleanup"] == 0
    assert figures["outbox_length"] == 0


def test_memory_is_extrapolated_from_a_sample(api, settings):
    three_users(api)
    full = session_metrics_collect()["redis_memory_bytes"]
    settings.SESSIONS_API = {**settings.SESSIONS_API, "METRICS_MEMORY_SAMPLE": 2}
    sampled = session_metrics_collect()["redis_memory_bytes"]
    assert 0.5 * full < sampled < 2 * full


def test_failed_authentications_are_counted_for_the_whole_deployment(api, fake_auth0):
    api.current(UNKNOWN_TOKEN)  # unknown session
    api.current("not-a-token")  # malformed: refused without a Redis lookup, counted in batch
    api.call("POST", "/api/sessions/create/", bearer="not-a-jwt")
    api.call("GET", "/api/sessions/current/")  # no header at all
    assert api.current(api.create()["token"]).status_code == 200  # not a failure
    auth_failures.flush()
    figures = session_metrics_collect()
    assert figures["failed_auth_last_hour"] == figures["failed_auth_last_day"] == 4


def test_failures_reach_redis_at_most_once_a_second(api, redis_conn, monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(type(auth_failures), "clock", staticmethod(lambda: now[0]))
    for _ in range(5):
        api.current(UNKNOWN_TOKEN)
    assert session_metrics_collect()["failed_auth_last_day"] == 1
    now[0] += 1.5
    api.current(UNKNOWN_TOKEN)
    assert session_metrics_collect()["failed_auth_last_day"] == 6


def test_command_prints_the_figures(api):
    three_users(api)
    out = io.StringIO()
    call_command("session_metrics", "--json", stdout=out)
    assert json.loads(out.getvalue())["active"] == 4
    out = io.StringIO()
    call_command("session_metrics", stdout=out)
    assert "active sessions" in out.getvalue()
    assert "live sessions per user, p95" in out.getvalue()


def test_metrics_endpoint_exposes_requests_outcomes_stores_and_snapshot(api):
    created_ok = sample("session_create_total", code="ok")
    invalid = sample("session_validate_total", code="session_invalid")
    current = sample("session_http_request_duration_seconds_count",
                     endpoint="sessions_api:current", method="GET")
    token = api.create()["token"]
    api.current(token)
    api.current(UNKNOWN_TOKEN)
    metrics_snapshot_record()
    response = api.call("GET", "/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert sample("session_create_total", code="ok") == created_ok + 1
    assert sample("session_validate_total", code="session_invalid") == invalid + 1
    assert sample("session_http_request_duration_seconds_count",
                  endpoint="sessions_api:current", method="GET") == current + 2
    assert 'session_store_duration_seconds_count{store="redis"}' in text
    assert 'session_store_duration_seconds_count{store="database"}' in text
    assert 'session_store_circuit_state{state="closed",store="redis"} 1.0' in text
    assert "sessions_active 1.0" in text
    assert "sessions_created_last_hour 1.0" in text
    assert token not in text


def test_store_errors_and_an_open_breaker_are_visible(api, settings):
    token = api.create()["token"]
    errors = sample("session_store_errors_total", store="redis")
    settings.SESSIONS_API = {**settings.SESSIONS_API,
                             "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    reset_clients()
    assert api.current(token).status_code == 200  # answered from PostgreSQL
    text = api.call("GET", "/metrics").content.decode()
    assert sample("session_store_errors_total", store="redis") == errors + 1
    assert 'session_store_circuit_state{state="open",store="redis"} 1.0' in text
    assert session_store.redis_breaker.state == "open"


def test_metrics_token_is_required_when_set(api, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "METRICS_TOKEN": "s3cret-metrics-token"}
    missing = api.call("GET", "/metrics")
    assert missing.status_code == 401
    assert missing.json()["code"] == "token_missing"
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    wrong = api.call("GET", "/metrics", bearer="wrong")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "token_invalid")
    right = api.call("GET", "/metrics/", bearer="s3cret-metrics-token")
    assert right.status_code == 200
    assert b"session_http_request_duration_seconds" in right.content
    assert api.call("POST", "/metrics", bearer="s3cret-metrics-token").status_code == 405


COUNT_ONE = "from sessions_api.metrics import CREATE_OUTCOMES; CREATE_OUTCOMES.labels('ok').inc()"


def test_multiprocess_mode_adds_up_every_worker(tmp_path, monkeypatch):
    """Two worker processes count; the process answering the scrape adds them up."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for _ in range(2):
        subprocess.run([sys.executable, "-c", COUNT_ONE], cwd=BACKEND, env=os.environ, check=True)
    rendered = metrics_render()[0].decode()
    assert 'session_create_total{code="ok"} 2.0' in rendered
    assert "session_store_circuit_state" in rendered


OBSERVE_THREE = """
from sessions_api.metrics import REQUEST_LATENCY, VALIDATE_OUTCOMES
for seconds in (0.0003, 0.005, 3.0):  # 0.005 is a bucket's bound: "le" holds it
    REQUEST_LATENCY.labels("sessions_api:current", "GET").observe(seconds)
VALIDATE_OUTCOMES.labels("ok").inc()
VALIDATE_OUTCOMES.labels("ok").inc(2)
"""


def test_multiprocess_figures_added_up_in_a_worker_are_written_exactly(tmp_path, monkeypatch):
    """Sums and buckets written in batches read as observe() would have written them."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    subprocess.run([sys.executable, "-c", OBSERVE_THREE], cwd=BACKEND, env=os.environ,
                   check=True)
    found = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
             for family in text_string_to_metric_families(metrics_render()[0].decode())
             for sample in family.samples}
    name = "session_http_request_duration_seconds"
    series = (("endpoint", "sessions_api:current"), ("method", "GET"))
    for bound, count in (("0.0005", 1), ("0.001", 1), ("0.005", 2), ("2.5", 2), ("+Inf", 3)):
        assert found[(f"{name}_bucket", tuple(sorted((*series, ("le", bound)))))] == count
    assert found[(f"{name}_count", series)] == 3
    assert found[(f"{name}_sum", series)] == pytest.approx(3.0053)
    assert found[("session_validate_total", (("code", "ok"),))] == 3


WAIT_AFTER_COUNTING = f"{COUNT_ONE}; print('counted', flush=True); input()"


def test_a_worker_that_stays_alive_writes_its_figures_within_a_second_or_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    worker = subprocess.Popen([sys.executable, "-c", WAIT_AFTER_COUNTING], cwd=BACKEND,
                              env=os.environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert worker.stdout.readline().strip() == "counted"
        deadline = time.monotonic() + 5
        while 'session_create_total{code="ok"} 1.0' not in metrics_render()[0].decode():
            assert time.monotonic() < deadline, "the live worker never wrote its count"
            time.sleep(0.1)
        assert worker.poll() is None  # written by the worker's flush, not at its exit
    finally:
        worker.communicate("\n", timeout=10)
