"""Webhooks (SPEC section 12): every audit event POSTed as a Standard Webhooks request to a
receiver on 127.0.0.1 that the test starts, from the outbox the event's transaction wrote.
Retries are driven by moving the clock (time-machine), not by waiting."""

import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from standardwebhooks import Webhook

from sessions_api.models import Session, SessionEvent, WebhookDelivery
from sessions_api.ops.cleanup import sessions_cleanup
from sessions_api.ops.figures import metrics_snapshot_record
from sessions_api.services.webhooks import webhook_backoff, webhook_deliveries_send
from sessions_api.tokens import token_hash

from .test_admin import staff

SECRET = "whsec_" + base64.b64encode(b"webhook-test-secret-0123456789ab").decode()
OUTBOX = "/admin/sessions_api/webhookdelivery/"


class Receiver:
    """A webhook receiver: answers 503 to the first ``failures`` requests, then verifies
    each with ``standardwebhooks`` and keeps what it accepted. ``hang`` makes it hold every
    request until released."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.requests = 0
        self.accepted: list[tuple[str, dict]] = []
        self.rejected: list[str] = []
        self.hang = threading.Event()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if receiver.hang.is_set():
                    receiver.released.wait(10)
                if receiver.requests <= receiver.failures:
                    self._answer(503)
                    return
                try:
                    payload = Webhook(SECRET).verify(body, dict(self.headers.items()))
                except Exception as error:
                    receiver.rejected.append(repr(error))
                    self._answer(400)
                    return
                receiver.accepted.append((self.headers["webhook-id"], payload))
                self._answer(204)

            def _answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for one in made:
        one.close()


def webhooks_on(settings, url: str, **extra):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "WEBHOOK_URL": url,
                             "WEBHOOK_SECRET": SECRET, **extra}


def send_at(moment: datetime) -> dict:
    with time_machine.travel(moment, tick=True):
        return webhook_deliveries_send()


def test_every_event_arrives_once_per_id_in_order_after_the_receiver_failed(
        api, settings, receiver):
    hooks = receiver(failures=3)
    webhooks_on(settings, hooks.url)
    alice = api.create("auth0|alice")
    bob = api.create("auth0|bob")
    assert api.update(alice["token"], {"data": {"theme": "dark"}}).status_code == 200
    refreshed = api.call("POST", "/api/sessions/refresh/", session=alice["token"], body={})
    assert refreshed.status_code == 200
    assert api.logout(refreshed.json()["token"]).status_code == 204
    assert api.update(bob["token"], {"data": {"step": 2}}).status_code == 200
    events = list(SessionEvent.objects.order_by("pk"))
    assert [e.kind for e in events] == ["created", "created", "updated", "rotated", "revoked",
                                        "updated"]
    assert WebhookDelivery.objects.count() == len(events)

    moment = datetime.now(UTC)
    for _ in range(12):  # each pass a little after the longest wait a failure can cause
        counts = send_at(moment)
        if not WebhookDelivery.objects.exclude(status="delivered").exists():
            break
        moment += webhook_backoff(6)
    assert not WebhookDelivery.objects.exclude(status="delivered").exists(), counts
    assert hooks.requests == len(events) + 3
    assert hooks.rejected == []
    ids = [webhook_id for webhook_id, _ in hooks.accepted]
    assert sorted(ids, key=int) == sorted(str(e.pk) for e in events)
    assert len(set(ids)) == len(ids)  # exactly once per webhook-id
    by_session: dict[str, list[int]] = {}
    for webhook_id, payload in hooks.accepted:
        by_session.setdefault(payload["data"]["session_id"], []).append(int(webhook_id))
    for delivered in by_session.values():
        assert delivered == sorted(delivered)  # in order per session
    types = {int(i): p["type"] for i, p in hooks.accepted}
    assert [types[e.pk] for e in events] == [f"session.{e.kind}" for e in events]
    revoked = next(p for i, p in hooks.accepted if p["type"] == "session.revoked")
    assert revoked["data"]["reason"] == "logout"
    assert revoked["data"]["user"]["auth0_sub"] == "auth0|alice"


def test_a_failure_waits_with_exponential_backoff_and_blocks_only_its_own_session(
        api, settings, receiver):
    hooks = receiver(failures=1)
    webhooks_on(settings, hooks.url)
    first = api.create("auth0|alice")
    api.update(first["token"], {"data": {"a": 1}})
    start = datetime.now(UTC)
    assert send_at(start) == {"delivered": 0, "retrying": 1, "failed": 0}
    created = WebhookDelivery.objects.order_by("pk").first()
    assert created.attempts == 1 and created.last_error == "HTTP 503"
    assert created.next_attempt_at >= start + timedelta(seconds=10)
    # The update of the same session waits behind the failed create.
    assert WebhookDelivery.objects.filter(status="pending").count() == 2
    assert send_at(start + timedelta(seconds=5)) == {"delivered": 0, "retrying": 0, "failed": 0}
    assert send_at(start + timedelta(seconds=11))["delivered"] == 2
    assert [webhook_backoff(n).total_seconds() for n in (1, 2, 3, 9, 30)] == [
        10, 20, 40, 1800, 1800]


def test_a_receiver_down_for_an_hour_loses_nothing(api, settings, receiver):
    webhooks_on(settings, "http://127.0.0.1:9/hooks")  # nothing listens there
    api.create("auth0|alice")
    start = datetime.now(UTC)
    moment = start
    while moment < start + timedelta(hours=1):
        send_at(moment)
        moment += timedelta(minutes=5)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts > 5
    hooks = receiver()
    webhooks_on(settings, hooks.url)
    send_at(start + timedelta(hours=1, minutes=31))
    assert [p["type"] for _, p in hooks.accepted] == ["session.created"]


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_does_not_slow_create_or_update(api, settings, receiver):
    hooks = receiver()
    hooks.hang.set()
    webhooks_on(settings, hooks.url)  # a 5 s timeout: any attempt on the request path shows
    api.create("auth0|warmup")  # first-call costs (JWKS, connections) are not the webhook's
    timings = []
    for n in range(3):
        started = time.perf_counter()
        created = api.create(f"auth0|user{n}")
        assert api.update(created["token"], {"data": {"n": n}}).status_code == 200
        timings.append(time.perf_counter() - started)
    assert max(timings) < 2, timings
    assert hooks.requests == 0  # nothing is sent on the request path
    assert WebhookDelivery.objects.filter(status="pending").count() == 7
    webhooks_on(settings, hooks.url, WEBHOOK_TIMEOUT=0.5)
    started = time.perf_counter()
    counts = webhook_deliveries_send(budget_seconds=1.0)
    assert time.perf_counter() - started < 3  # each attempt ends at the timeout
    assert counts["retrying"] >= 1 and counts["delivered"] == 0
    timed_out = WebhookDelivery.objects.filter(attempts=1).first()
    assert "timed out" in timed_out.last_error


def test_a_delivery_failing_for_24_hours_is_kept_failed_and_resent_from_the_admin(
        api, settings, receiver):
    dead = receiver(failures=10_000)
    webhooks_on(settings, dead.url)
    api.create("auth0|alice")
    start = datetime.now(UTC)
    assert send_at(start)["retrying"] == 1
    assert send_at(start + timedelta(hours=23))["retrying"] == 1
    assert send_at(start + timedelta(hours=24, seconds=1))["failed"] == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 503")
    assert send_at(start + timedelta(hours=30)) == {"delivered": 0, "retrying": 0, "failed": 0}

    metrics_snapshot_record()
    exposed = api.call("GET", "/metrics").content.decode()
    assert "sessions_webhook_failed 1.0" in exposed
    assert "sessions_webhook_pending 0.0" in exposed

    operator = staff("view_webhookdelivery", "change_webhookdelivery", username="ops-wes")
    page = operator.get(OUTBOX + "?status=failed")
    assert page.status_code == 200 and b"session.created" in page.content
    viewer = staff("view_webhookdelivery", username="viewer-vic")
    assert b'value="resend"' not in viewer.get(OUTBOX).content
    hooks = receiver()
    webhooks_on(settings, hooks.url)
    response = operator.post(OUTBOX, {"action": "resend", "index": 0,
                                      "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.retry_until > datetime.now(UTC) + timedelta(hours=23)
    assert webhook_deliveries_send()["delivered"] == 1
    assert [i for i, _ in hooks.accepted] == [str(delivery.pk)]


@pytest.mark.parametrize("include_client", [False, True])
def test_the_payload_names_who_and_what_never_a_token(api, settings, receiver, include_client):
    hooks = receiver()
    webhooks_on(settings, hooks.url, WEBHOOK_INCLUDE_CLIENT=include_client)
    response = api.call("POST", "/api/sessions/create/", bearer=api.fake.token("auth0|alice"),
                        headers={"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "Firefox/140"})
    created = response.json()
    api.update(created["token"], {"data": {"theme": "dark"}, "onboarding_completed": True})
    webhook_deliveries_send()
    session = Session.objects.get()
    raw = json.dumps([p for _, p in hooks.accepted])
    for secret in (created["token"], token_hash(created["token"]), session.token_hash):
        assert secret not in raw
    [(_, create), (_, update)] = hooks.accepted
    assert set(create) == {"type", "timestamp", "data"}
    client = {"ip": "203.0.113.9", "user_agent": "Firefox/140"} if include_client else {}
    assert create["data"] == {
        "session_id": created["session"]["id"],
        "user": {"id": created["session"]["user"]["id"], "auth0_sub": "auth0|alice"},
        "tenant_id": None, **client}
    assert update["type"] == "session.updated"
    assert update["data"]["fields"] == {"data": {"theme": "dark"}, "onboarding_completed": True}
    assert ("ip" in update["data"]) is include_client
    assert create["timestamp"].endswith("Z")


def test_an_expiry_by_the_cleanup_is_delivered(api, settings, receiver):
    hooks = receiver()
    webhooks_on(settings, hooks.url)
    api.create("auth0|alice")
    later = datetime.now(UTC) + timedelta(days=2)
    with time_machine.travel(later, tick=False):
        assert sessions_cleanup(dry_run=False, batch_size=100)["expired"] == 1
    send_at(later)
    assert [(p["type"], p["data"].get("reason")) for _, p in hooks.accepted] == [
        ("session.created", None), ("session.expired", "idle")]


def test_without_a_url_and_secret_no_outbox_is_written(api, settings):
    api.create("auth0|alice")
    assert SessionEvent.objects.count() == 1
    assert not WebhookDelivery.objects.exists()
    assert webhook_deliveries_send() == {"delivered": 0, "retrying": 0, "failed": 0}
