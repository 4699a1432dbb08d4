"""Rotating a session's token (refresh)."""

import contextlib
import logging

from django.db import transaction

from ..errors import ApiError, StoreUnavailable
from ..models import RevokeReason, Session, SessionEvent
from ..store import session_store
from ..store.audit import database_call, event_record, session_render
from ..store.record import HotRecord
from ..tokens import token_generate
from ..tokens import token_hash as token_hash_of
from .common import Caller, SessionRef, utc_now

logger = logging.getLogger("sessions_api.sessions")


def session_refresh(*, token_hash: str, caller: Caller) -> tuple[str, HotRecord]:
    """Rotate the token: the old one is dead at once, the absolute deadline does not move.

    The old token's tombstone is written before the new hash is committed, so there is no
    moment at which both tokens work. While Redis is unreachable (fallback ``postgres``) the
    audit row no longer knows the old hash, so the database refuses it, and the repair pass
    buries the old hot copy before Redis serves again.
    """
    session_store.ensure_writable()
    token = token_generate()
    session = database_call(_session_rotate, old_hash=token_hash, new_hash=token_hash_of(token),
                            caller=caller)
    record = session_render(session)
    # The audit row is committed: if Redis cannot take the copy, the first read restores it.
    with contextlib.suppress(StoreUnavailable):
        session_store.publish_new(session, record, recheck=True)
    logger.info("session rotated", extra={"session_id": record.session_id})
    return token, record


def _session_rotate(*, old_hash: str, new_hash: str, caller: Caller) -> Session:
    now = utc_now()
    with transaction.atomic():
        session = (Session.objects.select_for_update(of=("self",))
                   .select_related("account", "tenant").filter(token_hash=old_hash).first())
        if session is None:
            raise ApiError("session_invalid", "No such session.")
        if session.revoked_at is not None:
            raise ApiError("session_revoked", "This session has been revoked.")
        # Kill the old token before the new hash exists.
        buried = session_store.bury(SessionRef.of(session), RevokeReason.ROTATED)
        if not buried:
            if not session_store.fallback_allowed():
                raise StoreUnavailable("redis")
            session.retired_token_hashes = [*session.retired_token_hashes, old_hash]
            session.hot_copy_stale = True
            session_store.note_marked()
        session.token_hash = new_hash
        session.version += 1
        session.last_activity_at = now
        session.save(update_fields=["token_hash", "version", "last_activity_at",
                                    "retired_token_hashes", "hot_copy_stale"])
        event_record(session.pk, SessionEvent.Kind.ROTATED, reason=RevokeReason.ROTATED,
                     actor=caller.actor, at=now, ip=caller.ip, user_agent=caller.user_agent,
                     changes={"version": [session.version - 1, session.version]})
    return session
