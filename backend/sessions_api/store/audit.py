"""The PostgreSQL audit copy: the durable truth every hot copy is rebuilt from."""

import json
from datetime import UTC, datetime

from django.db import DatabaseError, InterfaceError, OperationalError

from ..errors import StoreUnavailable
from ..models import Membership, Session, SessionEvent
from .breaker import CircuitBreaker
from .record import HotRecord, epoch_ms, rfc3339

DATABASE_ERRORS = (OperationalError, InterfaceError)

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
    return SessionEvent.objects.create(
        session_id=session_id,
        kind=kind,
        reason=reason,
        actor=actor,
        at=at or datetime.now(UTC),
        ip=ip,
        user_agent=user_agent[:512],
        changes=changes or {},
    )
