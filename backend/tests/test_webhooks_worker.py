"""The webhook task in a real Celery worker process fed by the RabbitMQ on 127.0.0.1:5672,
sending to a receiver on 127.0.0.1 that verifies every signature."""

import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from kombu import Connection

from sessions_api.models import SessionEvent, WebhookDelivery

from .test_tasks import BACKEND, RABBITMQ, WorkerHandle, _wait_until
from .test_webhooks import SECRET, Receiver, webhooks_on


@pytest.fixture
def hooks():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def webhook_worker(django_db_setup, hooks, tmp_path):
    queue = f"test-webhooks-{uuid.uuid4().hex[:12]}"
    database = django_settings.DATABASES["default"]
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": (f"postgres://{database['USER']}@{database['HOST']}:"
                         f"{database['PORT'] or 5432}/{database['NAME']}"),
        "REDIS_URL": django_settings.SESSIONS_API["REDIS_URL"],
        "CELERY_BROKER_URL": RABBITMQ,
        "DJANGO_DEBUG": "0",
        "SESSION_WEBHOOK_URL": hooks.url,
        "SESSION_WEBHOOK_SECRET": SECRET,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
             "--pool", "solo", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel", "INFO"],
            cwd=BACKEND, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until(lambda: "ready" in log_path.read_text(), process, log_path, 60)
        yield WorkerHandle(queue, log_path, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with Connection(RABBITMQ) as connection:
            connection.default_channel.queue_delete(queue)


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_the_outbox(webhook_worker, hooks, api, settings):
    webhooks_on(settings, hooks.url)
    created = api.create("auth0|alice")
    assert api.logout(created["token"]).status_code == 204
    webhook_worker.send("sessions_api.webhooks_deliver")
    _wait_until(lambda: len(hooks.accepted) == 2, webhook_worker.process,
                webhook_worker.log_path, 30)
    events = list(SessionEvent.objects.order_by("pk").values_list("pk", flat=True))
    assert [webhook_id for webhook_id, _ in hooks.accepted] == [str(pk) for pk in events]
    assert [p["type"] for _, p in hooks.accepted] == ["session.created", "session.revoked"]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert created["token"] not in webhook_worker.log_path.read_text()
