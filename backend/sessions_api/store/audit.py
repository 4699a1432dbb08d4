"""The PostgreSQL audit copy: the durable truth every hot copy is rebuilt from."""

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

from celery import current_app
from django.db import DatabaseError, InterfaceError, OperationalError, transaction

from ..conf import session_settings
from ..errors import StoreUnavailable
from ..models import Membership, Session, SessionEvent, WebhookDelivery
from .breaker import CircuitBreaker
from .record import HotRecord, epoch_ms, rfc3339

DATABASE_ERRORS = (OperationalError, InterfaceError)
WEBHOOKS_TASK = "sessions_api.webhooks_deliver"

logger = logging.getLogger("sessions_api.webhooks")

database_breaker = CircuitBreaker("database")


def database_call(fn, *args, **kwargs):
    """Run ``fn``; a database that does not answer becomes ``StoreUnavailable``.

    After a failure the breaker answers at once for a short cooldown, so a dead database costs
    one connect timeout, not one per request.
    """
    if not database_breaker.allows_call():
        raise StoreUnavailable("database")
    try:
        result = fn(*args, **kwargs)
    except DATABASE_ERRORS as error:
        _forget_connection()
        database_breaker.record_failure(error)
        raise StoreUnavailable("database", error) from error
    except DatabaseError as error:
        if "connection" not in str(error).lower():
            raise
        _forget_connection()
        database_breaker.record_failure(error)
        raise StoreUnavailable("database", error) from error
    database_breaker.record_success()
    return result


def _forget_connection() -> None:
    """Drop a broken connection so the next call reconnects instead of reusing it."""
    from django.db import connection

    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def session_load(token_hash: str) -> Session | None:
    return (
        Session.objects.select_related("account", "tenant")
        .filter(token_hash=token_hash)
        .first()
    )


def session_render(session: Session, *, tenant_role: str | None = None) -> HotRecord:
    """The hot-copy record of a session, from its audit row (one query for the role, unless
    the caller has it)."""
    account = session.account
    tenant = None
    if session.tenant_id is not None:
        role = tenant_role or (
            Membership.objects.filter(tenant_id=session.tenant_id, account_id=account.id)
            .values_list("role", flat=True)
            .first()
        )
        tenant = {"id": str(session.tenant_id), "name": session.tenant.name, "role": role}
    body = {
        "id": str(session.id),
        "user": {
            "id": str(account.id),
            "auth0_sub": account.subject,
            "email": account.email,
            "name": account.name,
        },
        "tenant": tenant,
        "needs_onboarding": account.needs_onboarding,
        "onboarding_completed": account.onboarding_completed,
        "subscription_plan": account.subscription_plan,
        "subscription_status": account.subscription_status,
        "data": session.data,
        "created_at": rfc3339(epoch_ms(session.created_at)),
    }
    return HotRecord(
        session_id=str(session.id),
        account_id=str(account.id),
        user_pk=str(account.user_id),
        # Sorted keys: the database hands ``data`` back in its own key order, and the ETag
        # must not change with it.
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True),
        last_activity_ms=epoch_ms(session.last_activity_at),
        absolute_deadline_ms=epoch_ms(session.absolute_expires_at),
        state_version=account.state_version,
        session_version=session.version,
    )


def event_record(session_id, kind: str, *, actor: str, at=None, reason: str = "",
                 ip=None, user_agent: str = "", changes=None) -> SessionEvent:
    event = SessionEvent(
        session_id=session_id,
        kind=kind,
        reason=reason,
        actor=actor,
        at=at or datetime.now(UTC),
        ip=ip,
        user_agent=user_agent[:512],
        changes=changes or {},
    )
    return events_record([event])[0]


def events_record(events: list[SessionEvent]) -> list[SessionEvent]:
    """Write audit events, and with webhooks on their outbox rows, in the caller's
    transaction: an event is delivered if and only if it is committed."""
    events = SessionEvent.objects.bulk_create(events)
    if session_settings.webhooks_on and events:
        _webhook_deliveries_record(events)
    return events


def _webhook_deliveries_record(events: list[SessionEvent]) -> None:
    owners = {
        row["pk"]: row
        for row in Session.objects.filter(pk__in={e.session_id for e in events})
        .values("pk", "account_id", "account__subject", "tenant_id")
    }
    now = datetime.now(UTC)
    retry_until = now + timedelta(seconds=session_settings.WEBHOOK_RETRY_FOR)
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(event=event, session_id=event.session_id, next_attempt_at=now,
                        retry_until=retry_until,
                        payload=webhook_payload(event, owners[_uuid(event.session_id)]))
        for event in events
    ])
    transaction.on_commit(webhooks_wake, robust=True)


def webhook_payload(event: SessionEvent, owner: dict) -> dict:
    """The body a receiver gets: who and what, never a token or its hash."""
    data = {
        "session_id": str(event.session_id),
        "user": {"id": str(owner["account_id"]), "auth0_sub": owner["account__subject"]},
        "tenant_id": None if owner["tenant_id"] is None else str(owner["tenant_id"]),
    }
    if event.reason:
        data["reason"] = event.reason
    if event.kind == SessionEvent.Kind.UPDATED:
        data["fields"] = {name: change[1] for name, change in sorted(event.changes.items())}
    if session_settings.WEBHOOK_INCLUDE_CLIENT:
        data["ip"] = event.ip
        data["user_agent"] = event.user_agent
    return {"type": f"session.{event.kind}", "timestamp": rfc3339(epoch_ms(event.at)),
            "data": data}


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def webhooks_wake() -> None:
    """Queue the delivery task now rather than at the next sweep. Sent by name (the task
    lives above the store); never retried here, so a broker that does not answer costs a
    write nothing more than this attempt, and the beat sweep sends the row anyway."""
    try:
        current_app.send_task(WEBHOOKS_TASK, retry=False)
    except Exception:  # the sweep delivers what this could not queue
        logger.warning("webhook delivery task not queued; the sweep will send it",
                       exc_info=True)
