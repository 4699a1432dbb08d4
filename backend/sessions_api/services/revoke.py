"""Ending sessions. Redis first, so a token is dead at once even when the database is not
answering; the audit event then waits in the outbox until it answers."""

import json
import logging
from datetime import datetime

from django.db import transaction

from ..conf import session_settings
from ..errors import ApiError, StoreUnavailable
from ..models import Account, Session, SessionEvent
from ..store import session_store
from ..store.audit import database_call, event_record
from .common import Caller, SessionRef, utc_now

logger = logging.getLogger("sessions_api.sessions")


def session_revoke(*, ref: SessionRef, reason: str, caller: Caller) -> None:
    buried = session_store.bury(ref, reason)
    now = utc_now()
    try:
        database_call(revoke_in_database, ref=ref, reason=reason, caller=caller, at=now,
                      stale=not buried)
    except StoreUnavailable:
        if not buried:
            raise
        session_store.outbox_push({
            "session_id": ref.session_id, "reason": reason, "actor": caller.actor,
            "at": now.isoformat(), "ip": caller.ip, "user_agent": caller.user_agent,
        }, token_hash=ref.token_hash, until_ms=ref.absolute_deadline_ms)
        logger.warning("revocation kept in the outbox until the database returns",
                       extra={"session_id": ref.session_id})
    logger.info("session revoked", extra={"session_id": ref.session_id, "reason": reason})


def revoke_in_database(*, ref: SessionRef, reason, caller, at, stale: bool) -> bool:
    with transaction.atomic():
        revoked = Session.objects.filter(pk=ref.session_id, revoked_at__isnull=True).update(
            revoked_at=at, revoke_reason=reason, hot_copy_stale=stale)
        if revoked:
            event_record(ref.session_id, SessionEvent.Kind.REVOKED, reason=reason,
                         actor=caller.actor, at=at, ip=caller.ip, user_agent=caller.user_agent)
    return bool(revoked)


def outbox_drain(limit: int = 1000) -> int:
    """Write the audit events of revocations made while the database was down; returns how
    many revocations were recorded (an entry already recorded is dropped, not counted)."""
    drained = taken = 0
    while taken < limit:
        entries = session_store.outbox_pop(100)
        if not entries:
            break
        taken += len(entries)
        for position, raw in enumerate(entries):
            entry = json.loads(raw)
            caller = Caller(entry["actor"], entry.get("ip"), entry.get("user_agent") or "")
            ref = SessionRef(entry["session_id"], "", "", 0)
            try:
                drained += database_call(
                    revoke_in_database, ref=ref, reason=entry["reason"], caller=caller,
                    at=datetime.fromisoformat(entry["at"]), stale=False)
            except StoreUnavailable:
                session_store.outbox_return(entries[position:])
                raise
    return drained


def drain_outbox_after_a_write() -> None:
    """The database answers again: write what this process left in the outbox (the beat
    task drains what other processes left)."""
    if not session_store.revoked_outside_database:
        return
    try:
        outbox_drain()
    except StoreUnavailable:
        return
    session_store.revoked_outside_database.clear()


def sessions_revoke(*, sessions: list[Session], reason: str, caller: Caller) -> int:
    for session in sessions:
        session_revoke(ref=SessionRef.of(session), reason=reason, caller=caller)
    return len(sessions)


def session_revoke_own(*, account_id: str, session_id, caller: Caller) -> None:
    """Revoke one of the caller's own live sessions; anyone else's is ``not_found``."""
    session = database_call(
        Session.objects.filter(pk=session_id, account_id=account_id, revoked_at__isnull=True,
                               absolute_expires_at__gt=utc_now()).first)
    if session is None:
        raise ApiError("not_found", "No such session.")
    session_revoke(ref=SessionRef.of(session), reason="user", caller=caller)


def sessions_logout_all(*, account_id: str, current_session_id: str, include_current: bool,
                        caller: Caller) -> int:
    others = database_call(lambda: list(
        Session.objects.filter(account_id=account_id, revoked_at__isnull=True,
                               absolute_expires_at__gt=utc_now()).exclude(pk=current_session_id)))
    revoked = sessions_revoke(sessions=others, reason="others", caller=caller)
    if include_current:
        current = database_call(Session.objects.filter(pk=current_session_id).first)
        if current is not None and current.revoked_at is None:
            session_revoke(ref=SessionRef.of(current), reason="logout", caller=caller)
            revoked += 1
    return revoked


def account_for_subject(subject: str) -> Account:
    account = database_call(
        Account.objects.filter(issuer=session_settings.issuer, subject=subject).first)
    if account is None:
        raise ApiError("not_found", "No such user.")
    return account


def account_sessions_revoke(*, account: Account, reason: str, caller: Caller,
                            identity_provider_sid: str = "") -> int:
    """Revoke every live session of a user, or only those opened under one Auth0 ``sid``."""
    def live():
        sessions = Session.objects.filter(account=account, revoked_at__isnull=True,
                                          absolute_expires_at__gt=utc_now())
        if identity_provider_sid:
            # Sessions whose access token carried no sid can only be matched by the user.
            sessions = sessions.filter(identity_provider_sid__in=[identity_provider_sid, ""])
        return list(sessions)

    return sessions_revoke(sessions=database_call(live), reason=reason, caller=caller)
