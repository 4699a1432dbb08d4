"""Every write to sessions: keyword-only functions named ``session_<action>``.

The audit row is written first, in a transaction with its event; then the hot copy is
brought in line. Revocation is the exception: Redis first, so the token is dead at once even
when the database is not answering (its event then waits in the outbox).
"""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction

from .conf import session_settings
from .errors import ApiError, StoreUnavailable
from .identity.verify import access_token_verify
from .models import Account, Membership, Session, SessionEvent
from .provisioning import account_provision
from .ratelimit import create_rate_limit_ip, create_rate_limit_user
from .store import session_store
from .store.audit import database_call, event_record, session_render
from .store.record import HotRecord, epoch_ms
from .tokens import token_generate, token_hash
from .tokens import token_hash as token_hash_of
from .validation import SessionChanges, update_validate

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


def _now() -> datetime:
    return datetime.now(UTC)


def session_create(*, access_token: str, tenant_id=None, caller: Caller) -> tuple[str, HotRecord]:
    create_rate_limit_ip(caller.ip)
    claims = access_token_verify(access_token)
    create_rate_limit_user(claims)
    session_store.ensure_writable()
    created = database_call(_session_create, claims=claims, access_token=access_token,
                            tenant_id=tenant_id, caller=caller)
    _drain_outbox_after_a_write()
    return created


def _session_create(*, claims, access_token, tenant_id, caller) -> tuple[str, HotRecord]:
    account = account_provision(claims=claims, access_token=access_token)
    tenant = _tenant_for(account, tenant_id)
    token = token_generate()
    now = _now()
    with transaction.atomic():
        _account_lock(account)
        session = Session.objects.create(
            token_hash=token_hash(token),
            account=account,
            tenant=tenant,
            ip=caller.ip,
            user_agent=caller.user_agent[:512],
            identity_provider_sid=str(claims.get("sid") or "")[:255],
            created_at=now,
            last_activity_at=now,
            absolute_expires_at=now + timedelta(seconds=session_settings.ABSOLUTE_TIMEOUT),
        )
        event_record(session.pk, SessionEvent.Kind.CREATED, actor=f"user:{account.pk}",
                     at=now, ip=caller.ip, user_agent=caller.user_agent,
                     changes={"tenant_id": str(tenant.pk) if tenant else None})
        evicted = _sessions_over_limit_revoke(account=account, caller=caller)
    _evicted_bury(evicted)
    session.account, session.tenant = account, tenant
    record = session_render(session)
    session_store.publish_new(session, record)
    # A user-level change committed while this session was being written may have missed
    # it: compare versions once more now that the hot copy exists.
    current = Account.objects.filter(pk=account.pk).values_list("state_version", flat=True).first()
    if current != account.state_version:
        session.account = Account.objects.get(pk=account.pk)
        record = session_render(session)
        session_store.publish([session])
    logger.info("session created", extra={"session_id": record.session_id,
                                          "account_id": record.account_id})
    return token, record


def _tenant_for(account: Account, tenant_id):
    memberships = Membership.objects.select_related("tenant").filter(account=account)
    if tenant_id is None:
        membership = memberships.order_by("created_at", "pk").first()
        return membership.tenant if membership else None
    membership = memberships.filter(tenant_id=tenant_id).first()
    if membership is None:
        raise ApiError("not_found", "No such tenant.")
    return membership.tenant


def session_update(*, token_hash: str, body, if_match: str | None, caller: Caller) -> HotRecord:
    changes = update_validate(body)
    session_store.ensure_writable()
    updated = database_call(_session_update, token_hash=token_hash, changes=changes,
                            if_match=if_match, caller=caller)
    _drain_outbox_after_a_write()
    return updated


def _drain_outbox_after_a_write() -> None:
    """The database answers again: write what this process left in the outbox (the beat
    task drains what other processes left)."""
    if not session_store.revoked_outside_database:
        return
    try:
        outbox_drain()
    except StoreUnavailable:
        return
    session_store.revoked_outside_database.clear()


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
        affected = _live_sessions(account) if set(diff) & set(changes.account) else [session]
        if diff and not redis_up:
            Session.objects.filter(pk__in=[s.pk for s in affected]).update(hot_copy_stale=True)
    if diff and redis_up:
        session_store.publish(affected)
    return session_render(session)


def _apply_session_changes(session: Session, account: Account, changes: SessionChanges) -> dict:
    diff = {}
    if changes.tenant_given and changes.tenant_id != session.tenant_id:
        tenant = _tenant_for(account, changes.tenant_id) if changes.tenant_id else None
        diff["tenant_id"] = [_str(session.tenant_id), _str(tenant and tenant.pk)]
        session.tenant = tenant
    if changes.data is not None and changes.data != session.data:
        diff["data"] = [session.data, changes.data]
        session.data = changes.data
    return diff


def _str(value):
    return None if value is None else str(value)


def _live_sessions(account: Account) -> list[Session]:
    sessions = list(Session.objects.select_related("tenant").filter(
        account=account, revoked_at__isnull=True, absolute_expires_at__gt=_now()))
    for session in sessions:
        session.account = account
    return sessions


def account_state_publish(account: Account) -> None:
    """Show a user-level change on every live session of the user (next call)."""
    sessions = _live_sessions(account)
    if session_store.redis_available():
        session_store.publish(sessions)
    else:
        session_store.mark_stale([s.pk for s in sessions])


def session_revoke(*, ref: SessionRef, reason: str, caller: Caller) -> None:
    buried = session_store.bury(ref, reason)
    now = _now()
    try:
        database_call(_revoke_in_database, ref=ref, reason=reason, caller=caller, at=now,
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


def _revoke_in_database(*, ref: SessionRef, reason, caller, at, stale: bool) -> bool:
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
                    _revoke_in_database, ref=ref, reason=entry["reason"], caller=caller,
                    at=datetime.fromisoformat(entry["at"]), stale=False)
            except StoreUnavailable:
                session_store.outbox_return(entries[position:])
                raise
    return drained


# Managing sessions: the user's own (one, the others, all), rotation, the per-user limit, and
# server-to-server changes. Every revocation goes through ``session_revoke``.


def sessions_revoke(*, sessions: list[Session], reason: str, caller: Caller) -> int:
    for session in sessions:
        session_revoke(ref=SessionRef.of(session), reason=reason, caller=caller)
    return len(sessions)


def session_revoke_own(*, account_id: str, session_id, caller: Caller) -> None:
    """Revoke one of the caller's own live sessions; anyone else's is ``not_found``."""
    session = database_call(
        Session.objects.filter(pk=session_id, account_id=account_id, revoked_at__isnull=True,
                               absolute_expires_at__gt=_now()).first)
    if session is None:
        raise ApiError("not_found", "No such session.")
    session_revoke(ref=SessionRef.of(session), reason="user", caller=caller)


def sessions_logout_all(*, account_id: str, current_session_id: str, include_current: bool,
                        caller: Caller) -> int:
    others = database_call(lambda: list(
        Session.objects.filter(account_id=account_id, revoked_at__isnull=True,
                               absolute_expires_at__gt=_now()).exclude(pk=current_session_id)))
    revoked = sessions_revoke(sessions=others, reason="others", caller=caller)
    if include_current:
        current = database_call(Session.objects.filter(pk=current_session_id).first)
        if current is not None and current.revoked_at is None:
            session_revoke(ref=SessionRef.of(current), reason="logout", caller=caller)
            revoked += 1
    return revoked


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
    try:
        session_store.redis(session_store.hot.put, session.token_hash, record, mode="new")
        session_store.redis(session_store.hot.index_add, record.account_id, record.session_id,
                            session.token_hash)
    except StoreUnavailable:
        pass  # the audit row is committed: the first read restores the hot copy from it
    logger.info("session rotated", extra={"session_id": record.session_id})
    return token, record


def _session_rotate(*, old_hash: str, new_hash: str, caller: Caller) -> Session:
    now = _now()
    with transaction.atomic():
        session = (Session.objects.select_for_update(of=("self",))
                   .select_related("account", "tenant").filter(token_hash=old_hash).first())
        if session is None:
            raise ApiError("session_invalid", "No such session.")
        if session.revoked_at is not None:
            raise ApiError("session_revoked", "This session has been revoked.")
        # Kill the old token before the new hash exists.
        buried = session_store.bury(SessionRef.of(session), "rotated")
        if not buried:
            if not session_store.fallback_allowed():
                raise StoreUnavailable("redis")
            session.retired_token_hashes = [*session.retired_token_hashes, old_hash]
            session.hot_copy_stale = True
        session.token_hash = new_hash
        session.version += 1
        session.last_activity_at = now
        session.save(update_fields=["token_hash", "version", "last_activity_at",
                                    "retired_token_hashes", "hot_copy_stale"])
        event_record(session.pk, SessionEvent.Kind.ROTATED, reason="rotated",
                     actor=caller.actor, at=now, ip=caller.ip, user_agent=caller.user_agent,
                     changes={"version": [session.version - 1, session.version]})
    return session


def _account_lock(account: Account) -> None:
    """Serialise the creates of one user, so the per-user limit holds under concurrency."""
    Account.objects.select_for_update().filter(pk=account.pk).values_list("pk").first()


def _sessions_over_limit_revoke(*, account: Account, caller: Caller) -> list[SessionRef]:
    """Inside the create transaction, with the account locked: revoke the oldest sessions
    past ``SESSION_MAX_PER_USER`` in the audit copy. Returns them for the Redis tombstones."""
    live = Session.objects.filter(account=account, revoked_at__isnull=True,
                                  absolute_expires_at__gt=_now())
    excess = live.count() - session_settings.MAX_PER_USER
    if excess <= 0:
        return []
    # A session locked by a concurrent update is skipped rather than waited on (which could
    # deadlock with that update waiting on the account): the next oldest goes instead.
    oldest = list(live.select_for_update(skip_locked=True).order_by("created_at", "pk")[:excess])
    now = _now()
    for session in oldest:
        _revoke_in_database(ref=SessionRef.of(session), reason="limit", caller=caller, at=now,
                            stale=False)
    return [SessionRef.of(session) for session in oldest]


def _evicted_bury(refs: list[SessionRef]) -> None:
    stale = [ref.session_id for ref in refs if not session_store.bury(ref, "limit")]
    if stale:
        session_store.mark_stale(stale)
    for ref in refs:
        logger.info("session revoked", extra={"session_id": ref.session_id, "reason": "limit"})


def account_for_subject(subject: str) -> Account:
    account = database_call(
        Account.objects.filter(issuer=session_settings.issuer, subject=subject).first)
    if account is None:
        raise ApiError("not_found", "No such user.")
    return account


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
            for session in _live_sessions(account):
                event_record(session.pk, SessionEvent.Kind.UPDATED, actor=caller.actor,
                             ip=caller.ip, user_agent=caller.user_agent, changes=diff)
    return account


def account_sessions_revoke(*, account: Account, reason: str, caller: Caller,
                            identity_provider_sid: str = "") -> int:
    """Revoke every live session of a user, or only those opened under one Auth0 ``sid``."""
    def live():
        sessions = Session.objects.filter(account=account, revoked_at__isnull=True,
                                          absolute_expires_at__gt=_now())
        if identity_provider_sid:
            # Sessions whose access token carried no sid can only be matched by the user.
            sessions = sessions.filter(identity_provider_sid__in=[identity_provider_sid, ""])
        return list(sessions)

    return sessions_revoke(sessions=database_call(live), reason=reason, caller=caller)
