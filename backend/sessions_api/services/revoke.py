"""Ending sessions. Redis first, so a token is dead at once even when the database is not
answering; the audit event then waits in the outbox until it answers."""

import logging

from ..conf import session_settings
from ..errors import ApiError, StoreUnavailable
from ..models import Account, RevokeReason, Session
from ..store import session_store
from ..store.audit import database_call
from .common import Caller, SessionRef, revoke_in_database, utc_now
from .outbox import outbox_push

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
        outbox_push({
            "session_id": ref.session_id, "reason": reason, "actor": caller.actor,
            "at": now.isoformat(), "ip": caller.ip, "user_agent": caller.user_agent,
        }, token_hash=ref.token_hash, until_ms=ref.absolute_deadline_ms)
        logger.warning("revocation kept in the outbox until the database returns",
                       extra={"session_id": ref.session_id})
    logger.info("session revoked", extra={"session_id": ref.session_id, "reason": reason})


def sessions_revoke(*, sessions: list[Session], reason: str, caller: Caller) -> int:
    for session in sessions:
        session_revoke(ref=SessionRef.of(session), reason=reason, caller=caller)
    return len(sessions)


def session_revoke_own(*, account_id: str, session_id, caller: Caller) -> None:
    """Revoke one of the caller's own live sessions; anyone else's is ``not_found``."""
    session = database_call(
        Session.objects.live().filter(pk=session_id, account_id=account_id).first)
    if session is None:
        raise ApiError("not_found", "No such session.")
    session_revoke(ref=SessionRef.of(session), reason=RevokeReason.USER, caller=caller)


def sessions_logout_all(*, account_id: str, current_session_id: str, include_current: bool,
                        caller: Caller) -> int:
    others = database_call(lambda: list(
        Session.objects.live().filter(account_id=account_id).exclude(pk=current_session_id)))
    revoked = sessions_revoke(sessions=others, reason=RevokeReason.OTHERS, caller=caller)
    if include_current:
        current = database_call(Session.objects.filter(pk=current_session_id).first)
        if current is not None and current.revoked_at is None:
            session_revoke(ref=SessionRef.of(current), reason=RevokeReason.LOGOUT, caller=caller)
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
        sessions = Session.objects.live().filter(account=account)
        if identity_provider_sid:
            # Sessions whose access token carried no sid can only be matched by the user.
            sessions = sessions.filter(identity_provider_sid__in=[identity_provider_sid, ""])
        return list(sessions)

    return sessions_revoke(sessions=database_call(live), reason=reason, caller=caller)


def users_sessions_revoke(*, users, reason: str = RevokeReason.ADMIN, caller: Caller) -> int:
    """Revoke every live session of these users (a queryset or list of ``AUTH_USER_MODEL``
    rows): the one call to make after a bulk change that sends no signal, such as
    ``User.objects.filter(...).update(is_active=False)``. Returns how many were revoked."""
    user_ids = [user.pk for user in users] if isinstance(users, list) else users.values("pk")
    sessions = database_call(lambda: list(Session.objects.live().filter(
        account__user_id__in=user_ids)))
    return sessions_revoke(sessions=sessions, reason=reason, caller=caller)
