"""What every service shares: who acts, a handle to revoke by, the live sessions of a user."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q

from ..models import Account, Session, SessionEvent
from ..store import session_store
from ..store.audit import event_record
from ..store.record import epoch_ms

logger = logging.getLogger("sessions_api.sessions")


@dataclass(frozen=True)
class Caller:
    """Who acts, and from where: recorded on every audit event."""

    actor: str
    ip: str | None = None
    user_agent: str = ""


@dataclass(frozen=True)
class SessionRef:
    """Enough to revoke a session without the database."""

    session_id: str
    account_id: str
    token_hash: str
    absolute_deadline_ms: int

    @classmethod
    def of(cls, session: Session) -> "SessionRef":
        return cls(str(session.pk), str(session.account_id), session.token_hash,
                   epoch_ms(session.absolute_expires_at))


def utc_now() -> datetime:
    return datetime.now(UTC)


def live_sessions(account: Account) -> list[Session]:
    sessions = list(Session.objects.live().select_related("tenant").filter(account=account))
    for session in sessions:
        session.account = account
    return sessions


def account_state_publish(account: Account) -> None:
    """Show a user-level change on every live session of the user (next call)."""
    sessions = live_sessions(account)
    if session_store.redis_available():
        session_store.publish(sessions)
    else:
        session_store.mark_stale([s.pk for s in sessions])


def revoke_in_database(*, ref: SessionRef, reason, caller, at, stale: bool,
                       earlier_wins: bool = False) -> bool:
    """Record a revocation; ``False`` when the session was revoked already (unless
    ``earlier_wins`` and that revocation came later than this one)."""
    not_yet = Q(revoked_at__isnull=True)
    if earlier_wins:
        not_yet |= Q(revoked_at__gt=at)
    with transaction.atomic():
        revoked = Session.objects.filter(not_yet, pk=ref.session_id).update(
            revoked_at=at, revoke_reason=reason, hot_copy_stale=stale)
        if revoked and stale:
            session_store.note_marked()
        if revoked:
            event_record(ref.session_id, SessionEvent.Kind.REVOKED, reason=reason,
                         actor=caller.actor, at=at, ip=caller.ip, user_agent=caller.user_agent)
    return bool(revoked)
