"""Opening a session: verify, provision, write the audit row, publish the hot copy, and keep
the user within ``SESSION_MAX_PER_USER``."""

import logging
from datetime import timedelta

from django.db import transaction

from ..conf import session_settings
from ..errors import ApiError
from ..identity.verify import access_token_verify
from ..models import Account, Membership, RevokeReason, Session, SessionEvent
from ..store import session_store
from ..store.audit import database_call, event_record, session_render
from ..store.record import HotRecord
from ..tokens import token_generate, token_hash
from .common import Caller, SessionRef, account_state_publish, revoke_in_database, utc_now
from .outbox import drain_outbox_after_a_write
from .provisioning import account_locked, account_provision
from .ratelimit import create_rate_limit_ip, create_rate_limit_user

logger = logging.getLogger("sessions_api.sessions")


def session_create(*, access_token: str, tenant_id=None, caller: Caller) -> tuple[str, HotRecord]:
    create_rate_limit_ip(caller.ip)
    claims = access_token_verify(access_token)
    create_rate_limit_user(claims)
    session_store.ensure_writable()
    created = database_call(_session_create, claims=claims, access_token=access_token,
                            tenant_id=tenant_id, caller=caller)
    drain_outbox_after_a_write()
    return created


def _session_create(*, claims, access_token, tenant_id, caller) -> tuple[str, HotRecord]:
    token = token_generate()
    for _ in range(2):
        with transaction.atomic():
            found = account_locked(claims)
            if found is not None:
                account, profile_changed = found
                record, evicted = _session_open(account=account, token=token, claims=claims,
                                                tenant_id=tenant_id, caller=caller)
                break
        account_provision(claims=claims, access_token=access_token)
    else:  # pragma: no cover - the account was just made; only a concurrent delete gets here
        raise ApiError("token_invalid", "This identity was deleted while signing in.")
    _evicted_bury(evicted)
    if profile_changed:
        account_state_publish(account)  # the user's other sessions show the new email, name
    logger.info("session created", extra={"session_id": record.session_id,
                                          "account_id": record.account_id})
    return token, record


def _session_open(*, account: Account, token: str, claims, tenant_id,
                  caller: Caller) -> tuple[HotRecord, list[SessionRef]]:
    """With the account locked: the audit row, its event, the per-user limit, and the hot
    copy. The hot copy is written before the commit, so a user-level change (which waits for
    the lock) finds it and updates it; were the commit to fail, the copy would belong to a token
    nobody was given."""
    membership = membership_for(account, tenant_id)
    tenant = membership.tenant if membership else None
    now = utc_now()
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
    record = session_render(session, tenant_role=membership.role if membership else None)
    session_store.publish_new(session, record)
    return record, evicted


def membership_for(account: Account, tenant_id) -> Membership | None:
    """The membership a session opens in: the one asked for (``not_found`` unless the user
    belongs to it), else the user's first, else none."""
    memberships = Membership.objects.select_related("tenant").filter(account=account)
    if tenant_id is None:
        return memberships.order_by("created_at", "pk").first()
    membership = memberships.filter(tenant_id=tenant_id).first()
    if membership is None:
        raise ApiError("not_found", "No such tenant.")
    return membership


def _sessions_over_limit_revoke(*, account: Account, caller: Caller) -> list[SessionRef]:
    """Inside the create transaction, with the account locked: revoke the oldest sessions
    past ``SESSION_MAX_PER_USER`` in the audit copy. Returns them for the Redis tombstones."""
    live = Session.objects.live().filter(account=account)
    excess = live.count() - session_settings.MAX_PER_USER
    if excess <= 0:
        return []
    # A session locked by a concurrent update is skipped rather than waited on (which could
    # deadlock with that update waiting on the account): the next oldest goes instead.
    oldest = list(live.select_for_update(skip_locked=True).order_by("created_at", "pk")[:excess])
    now = utc_now()
    for session in oldest:
        revoke_in_database(ref=SessionRef.of(session), reason=RevokeReason.LIMIT, caller=caller,
                           at=now, stale=False)
    return [SessionRef.of(session) for session in oldest]


def _evicted_bury(refs: list[SessionRef]) -> None:
    stale = [ref.session_id for ref in refs if not session_store.bury(ref, RevokeReason.LIMIT)]
    if stale:
        session_store.mark_stale(stale)
    for ref in refs:
        logger.info("session revoked",
                    extra={"session_id": ref.session_id, "reason": RevokeReason.LIMIT})
