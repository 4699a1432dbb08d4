"""Changing a session (its ``data`` and tenant) and its user's state (onboarding,
subscription), which every live session of the user shows on its next call."""

import logging
import uuid
from dataclasses import dataclass, field

from django.db import transaction

from ..errors import ApiError
from ..models import Account, Session, SessionEvent
from ..store import session_store
from ..store.audit import database_call, event_record, session_render
from ..store.record import HotRecord
from .common import Caller, account_state_publish, live_sessions
from .create import membership_for
from .outbox import drain_outbox_after_a_write
from .revoke import account_for_subject

logger = logging.getLogger("sessions_api.sessions")


@dataclass
class SessionChanges:
    """A checked update body (``api/validation.py`` builds it)."""

    account: dict = field(default_factory=dict)  # user-level: seen by every session of the user
    tenant_id: uuid.UUID | None = None
    tenant_given: bool = False
    data: dict | None = None


def session_update(*, token_hash: str, changes: SessionChanges, if_match: str | None,
                   caller: Caller) -> HotRecord:
    session_store.ensure_writable()
    updated = database_call(_session_update, token_hash=token_hash, changes=changes,
                            if_match=if_match, caller=caller)
    drain_outbox_after_a_write()
    return updated


def _session_update(*, token_hash, changes: SessionChanges, if_match, caller) -> HotRecord:
    redis_up = session_store.redis_available()
    with transaction.atomic():
        session = (Session.objects.select_for_update(of=("self",)).select_related("tenant")
                   .filter(token_hash=token_hash).first())
        if session is None:
            raise ApiError("session_invalid", "No such session.")
        if session.revoked_at is not None:
            raise ApiError("session_revoked", "This session has been revoked.")
        account = Account.objects.select_for_update().get(pk=session.account_id)
        session.account = account
        if if_match and if_match.strip() not in {"*", session_render(session).etag}:
            raise ApiError("precondition_failed", "The session changed since you read it.")
        diff = {}
        for name, value in changes.account.items():
            if getattr(account, name) != value:
                diff[name] = [getattr(account, name), value]
                setattr(account, name, value)
        if diff:
            account.state_version += 1
            account.save()
        session_diff = _apply_session_changes(session, account, changes)
        if session_diff:
            session.version += 1
            session.save()
        diff.update(session_diff)
        if diff:
            event_record(session.pk, SessionEvent.Kind.UPDATED, actor=f"user:{account.pk}",
                         ip=caller.ip, user_agent=caller.user_agent, changes=diff)
        affected = live_sessions(account) if set(diff) & set(changes.account) else [session]
        if diff and not redis_up:
            Session.objects.filter(pk__in=[s.pk for s in affected]).update(hot_copy_stale=True)
            session_store.note_marked()
    if diff and redis_up:
        session_store.publish(affected)
    elif diff:
        session_store.drop_refused_copies([s.token_hash for s in affected])
    return session_render(session)


def _apply_session_changes(session: Session, account: Account, changes: SessionChanges) -> dict:
    diff = {}
    if changes.tenant_given and changes.tenant_id != session.tenant_id:
        membership = membership_for(account, changes.tenant_id) if changes.tenant_id else None
        tenant = membership.tenant if membership else None
        diff["tenant_id"] = [_str(session.tenant_id), _str(tenant and tenant.pk)]
        session.tenant = tenant
    if changes.data is not None and changes.data != session.data:
        diff["data"] = [session.data, changes.data]
        session.data = changes.data
    return diff


def _str(value):
    return None if value is None else str(value)


def account_subscription_set(*, subject: str, plan: str | None, status: str | None,
                             caller: Caller) -> Account:
    """Set any plan and status (server to server); every live session shows it next call."""
    account = account_for_subject(subject)
    account = database_call(_subscription_write, account_id=account.pk, plan=plan,
                            status=status, caller=caller)
    account_state_publish(account)
    return account


def _subscription_write(*, account_id, plan, status, caller: Caller) -> Account:
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        diff = {}
        for name, value in (("subscription_plan", plan), ("subscription_status", status)):
            if value is not None and getattr(account, name) != value:
                diff[name] = [getattr(account, name), value]
                setattr(account, name, value)
        if diff:
            account.state_version += 1
            account.save()
            for session in live_sessions(account):
                event_record(session.pk, SessionEvent.Kind.UPDATED, actor=caller.actor,
                             ip=caller.ip, user_agent=caller.user_agent, changes=diff)
    return account
