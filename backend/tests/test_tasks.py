"""Periodic tasks: the beat schedule, the Redis lock, retries, and real runs through a Celery
worker process fed by the RabbitMQ on 127.0.0.1:5672."""

import json
import logging
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings

from config.celery import app
from sessions_api import tasks
from sessions_api.errors import StoreUnavailable
from sessions_api.models import Session, SessionEvent
from sessions_api.ops.figures import snapshot_key
from sessions_api.ops.locks import lock_key, task_lock
from sessions_api.schedule import BEAT_SCHEDULE
from sessions_api.store import session_store
from sessions_api.store.connection import reset_clients
from sessions_api.tokens import token_hash

from .support.celery_worker import running_worker, wait_for
from .support.hot_copy import hot_last_activity_set
from .support.servers import free_port


def test_every_scheduled_task_is_registered_and_reads_its_interval(settings):
    registered = app.tasks
    assert django_settings.CELERY_BEAT_SCHEDULE is BEAT_SCHEDULE
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {
        "sessions_api.cleanup_sessions", "sessions_api.activity_flush",
        "sessions_api.outbox_drain", "sessions_api.hot_copy_repair",
        "sessions_api.metrics_snapshot", "sessions_api.webhooks_deliver"}
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in registered
    cleanup = BEAT_SCHEDULE["sessions-cleanup"]["schedule"]
    assert cleanup.run_every == timedelta(hours=1)
    assert BEAT_SCHEDULE["sessions-metrics-snapshot"]["schedule"].run_every == timedelta(minutes=1)
    settings.SESSIONS_API = {**settings.SESSIONS_API, "CLEANUP_INTERVAL": 900}
    assert cleanup.run_every == timedelta(minutes=15)
    # Beat keeps its entries in a shelve file: the interval must survive a pickle round trip.
    assert pickle.loads(pickle.dumps(cleanup)).run_every == timedelta(minutes=15)  # noqa: S301


def test_a_held_lock_skips_the_run(api):
    api.create()
    with task_lock("cleanup_sessions", ttl_seconds=60) as held:
        assert held
        with task_lock("cleanup_sessions", ttl_seconds=60) as second:
            assert not second
        assert tasks.cleanup_sessions.apply().result is None
    counts = tasks.cleanup_sessions.apply().result
    assert counts["expired"] == 0 and counts["dry_run"] is False


def test_the_lock_is_released_only_by_its_holder(redis_conn):
    with task_lock("metrics_snapshot", ttl_seconds=60) as held:
        assert held
        assert 0 < redis_conn.pttl(lock_key("metrics_snapshot")) <= 60_000
        redis_conn.set(lock_key("metrics_snapshot"), "someone-else")  # ours expired meanwhile
    assert redis_conn.get(lock_key("metrics_snapshot")) == "someone-else"
    redis_conn.delete(lock_key("metrics_snapshot"))
    with task_lock("metrics_snapshot", ttl_seconds=60):
        pass
    assert not redis_conn.exists(lock_key("metrics_snapshot"))


def test_a_run_logs_one_line_with_its_counts(api, caplog):
    api.create()
    with caplog.at_level(logging.INFO, logger="sessions_api.tasks"):
        tasks.metrics_snapshot.apply()
    [line] = [r for r in caplog.records if r.name == "sessions_api.tasks"]
    assert line.getMessage() == "metrics_snapshot done"
    assert line.active == 1 and line.audit_session_rows == 1


@pytest.mark.parametrize("task", [tasks.cleanup_sessions, tasks.activity_flush_task,
                                  tasks.outbox_drain_task, tasks.hot_copy_repair,
                                  tasks.metrics_snapshot])
def test_store_errors_are_retried_with_backoff(task, settings, db):
    assert StoreUnavailable in task.autoretry_for
    assert task.retry_backoff and task.max_retries
    settings.SESSIONS_API = {**settings.SESSIONS_API,
                             "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    reset_clients()
    retries = []
    original = task.retry

    def counting_retry(*args, **kwargs):
        retries.append(kwargs.get("countdown"))
        session_store.redis_breaker.open_until = 0.0  # let the next attempt reach Redis
        return original(*args, **kwargs)

    task.retry = counting_retry
    try:
        result = task.apply()
    finally:
        del task.retry
    assert result.state == "FAILURE"
    assert isinstance(result.result, StoreUnavailable)
    assert len(retries) == task.max_retries + 1


# A real worker process.

@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):
    """``celery -A config worker`` on a queue of its own, with the production settings
    pointed at this run's test database and Redis db."""
    with running_worker(tmp_path_factory.mktemp("celery-worker") / "worker.log") as handle:
        yield handle


def _log_lines(worker) -> list[dict]:
    lines = []
    for line in worker.log_path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


@pytest.mark.django_db(transaction=True)
def test_cleanup_runs_in_a_real_worker(worker, api, redis_conn):
    created = [api.create("auth0|alice"), api.create("auth0|bob")]
    gone = datetime.now(UTC) - timedelta(seconds=28800 + 60)
    Session.objects.update(last_activity_at=gone)
    for session in created:
        key = session_store.hot.session_key(token_hash(session["token"]))
        hot_last_activity_set(redis_conn, key, int(gone.timestamp() * 1000))
    worker.send("sessions_api.cleanup_sessions")
    wait_for(lambda: SessionEvent.objects.filter(kind="expired").count() == 2,
                worker.process, worker.log_path, 30)
    assert set(SessionEvent.objects.filter(kind="expired").values_list("actor", flat=True)) == {
        "system:cleanup"}
    wait_for(lambda: any(line["message"] == "cleanup_sessions done"
                            for line in _log_lines(worker)),
                worker.process, worker.log_path, 10)
    [done] = [line for line in _log_lines(worker) if line["message"] == "cleanup_sessions done"]
    assert done["expired"] == 2 and done["request_id"].startswith("task-")
    for session in created:
        assert session["token"] not in worker.log_path.read_text()


@pytest.mark.django_db(transaction=True)
def test_metrics_snapshot_runs_in_a_real_worker(worker, api, redis_conn):
    for sub in ("auth0|alice", "auth0|alice", "auth0|bob"):
        api.create(sub)
    worker.send("sessions_api.metrics_snapshot")
    wait_for(lambda: redis_conn.exists(snapshot_key()), worker.process, worker.log_path, 30)
    figures = json.loads(redis_conn.get(snapshot_key()))
    assert figures["active"] == 3
    assert figures["per_user_max"] == 2
    assert figures["audit_session_rows"] == 3
    exposed = api.call("GET", "/metrics").content.decode()
    assert "sessions_active 3.0" in exposed
    assert "sessions_per_user_max 2.0" in exposed
