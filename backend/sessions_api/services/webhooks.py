"""Sending the webhook outbox: each audit event as a Standard Webhooks request.

The rows are written with their events (``store.audit.events_record``); this runs in the
Celery worker only (the task queued after each commit, and the beat sweep), never on a request.
Delivery is at least once: a row is marked delivered only after a 2xx answer, so a receiver
deduplicates on ``webhook-id`` (the event id). Each session's events go out in order: a row
waits while an earlier row of its session is still pending. A failed attempt is retried with
exponential backoff (``RETRY_BASE`` doubling, at most ``RETRY_CAP``) until the row's
``retry_until`` (``WEBHOOK_RETRY_FOR`` after the event), then the row is kept as failed.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from django.db.models import Exists, OuterRef
from standardwebhooks import Webhook

from ..conf import session_settings
from ..metrics import WEBHOOK_ATTEMPTS
from ..models import WebhookDelivery
from ..store.audit import database_call, webhooks_wake

logger = logging.getLogger("sessions_api.webhooks")

RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(minutes=30)
BATCH = 100
# A pass stops taking new rows after this long, so a slow receiver cannot hold the task's
# lock past its expiry (run_locked keeps it for at least 120 s).
PASS_BUDGET_SECONDS = 60.0
Status = WebhookDelivery.Status


def webhook_deliveries_send(*, now=None, budget_seconds: float = PASS_BUDGET_SECONDS) -> dict:
    """Send every due delivery; ``now`` (a clock: a callable, or a fixed time) decides what is
    due and when a failure is tried again. Returns the counts of this pass."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    if not session_settings.webhooks_on:
        return counts
    clock = now if callable(now) else (lambda: now) if now is not None else _utc_now
    started = time.monotonic()
    hook = Webhook(session_settings.WEBHOOK_SECRET)
    while time.monotonic() - started < budget_seconds:
        batch = database_call(_due, clock())
        if not batch:
            break
        for delivery in batch:
            outcome = _attempt(delivery, hook, clock())
            counts[outcome] += 1
            if time.monotonic() - started >= budget_seconds:
                break
    return counts


def webhook_deliveries_resend(*, deliveries) -> int:
    """Back to pending, due now, with a fresh retry window; the task is queued at once."""
    now = _utc_now()
    resent = database_call(
        lambda: WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).exclude(
            status=Status.PENDING).update(
            status=Status.PENDING, attempts=0, next_attempt_at=now, last_error="",
            retry_until=now + timedelta(seconds=session_settings.WEBHOOK_RETRY_FOR)))
    if resent:
        webhooks_wake()
    return resent


def webhook_backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 10 s, 20 s, 40 s, ... at most 30 min."""
    return min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _due(now: datetime) -> list[WebhookDelivery]:
    """The first pending row of each session, if it is due, oldest first."""
    pending = WebhookDelivery.objects.filter(status=Status.PENDING)
    earlier = pending.filter(session_id=OuterRef("session_id"), pk__lt=OuterRef("pk"))
    return list(pending.filter(next_attempt_at__lte=now).exclude(Exists(earlier))
                .order_by("pk")[:BATCH])


def _attempt(delivery: WebhookDelivery, hook: Webhook, now: datetime) -> str:
    error = _post(delivery, hook, now)
    if error is None:
        fields = {"status": Status.DELIVERED, "delivered_at": now, "last_error": ""}
        outcome = "delivered"
    elif now >= delivery.retry_until:
        fields = {"status": Status.FAILED, "last_error": error}
        outcome = "failed"
        logger.warning("webhook delivery failed for good",
                       extra={"event_id": delivery.pk, "attempts": delivery.attempts + 1,
                              "error": error})
    else:
        fields = {"next_attempt_at": now + webhook_backoff(delivery.attempts + 1),
                  "last_error": error}
        outcome = "retrying"
    # Only a row still pending: a re-send from the admin meanwhile is not overwritten.
    database_call(lambda: WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING).update(attempts=delivery.attempts + 1, **fields))
    WEBHOOK_ATTEMPTS.labels(outcome).inc()
    return outcome


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx, not a new address to POST to."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(delivery: WebhookDelivery, hook: Webhook, now: datetime) -> str | None:
    """POST the row; ``None`` when the receiver took it (2xx), else what went wrong."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    webhook_id = str(delivery.pk)
    request = urllib.request.Request(  # noqa: S310 (an operator-configured URL)
        session_settings.WEBHOOK_URL, data=body.encode(), method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "session-service-webhooks",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": hook.sign(msg_id=webhook_id, timestamp=now, data=body),
        })
    try:
        with _opener.open(request, timeout=session_settings.WEBHOOK_TIMEOUT) as response:
            response.read(1024)
            status = response.status
    except urllib.error.HTTPError as answer:
        return f"HTTP {answer.code}"
    except (OSError, ValueError) as error:  # refused, reset, timed out, bad URL
        return f"{type(error).__name__}: {error}"[:300]
    return None if 200 <= status < 300 else f"HTTP {status}"
