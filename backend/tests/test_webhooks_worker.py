"""The webhook task in a real Celery worker process fed by the RabbitMQ on 127.0.0.1:5672,
sending to a receiver on 127.0.0.1 that verifies every signature."""


import pytest

from sessions_api.models import SessionEvent, WebhookDelivery

from .support.celery_worker import running_worker, wait_for
from .test_webhooks import SECRET, Receiver, webhooks_on


@pytest.fixture
def hooks():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def webhook_worker(django_db_setup, hooks, tmp_path):
    with running_worker(tmp_path / "worker.log", SESSION_WEBHOOK_URL=hooks.url,
                        SESSION_WEBHOOK_SECRET=SECRET) as handle:
        yield handle


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_the_outbox(webhook_worker, hooks, api, settings):
    webhooks_on(settings, hooks.url)
    created = api.create("auth0|alice")
    assert api.logout(created["token"]).status_code == 204
    webhook_worker.send("sessions_api.webhooks_deliver")
    wait_for(lambda: len(hooks.accepted) == 2, webhook_worker.process,
                webhook_worker.log_path, 30)
    events = list(SessionEvent.objects.order_by("pk").values_list("pk", flat=True))
    assert [webhook_id for webhook_id, _ in hooks.accepted] == [str(pk) for pk in events]
    assert [p["type"] for _, p in hooks.accepted] == ["session.created", "session.revoked"]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert created["token"] not in webhook_worker.log_path.read_text()
