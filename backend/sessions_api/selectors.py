"""Reads that are not the hot path: the list of a user's live sessions."""

from datetime import UTC, datetime

from .conf import session_settings
from .devices import device_describe
from .errors import StoreUnavailable
from .models import Session
from .store import session_store
from .store.audit import database_call
from .store.record import epoch_ms, rfc3339


def _hot_activity(token_hashes: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """Last activity (ms) and tombstone reason of each session in Redis, in one round trip.

    The audit copy's activity lags by up to one flush interval; Redis has the exact value.
    """
    hot = session_store.hot

    def read():
        pipeline = hot.client.pipeline(transaction=False)
        for hashed in token_hashes:
            pipeline.hmget(hot.session_key(hashed), "la", "r")
        return pipeline.execute()

    try:
        replies = session_store.redis(read) if token_hashes else []
    except StoreUnavailable:
        return {}
    return dict(zip(token_hashes, (tuple(reply) for reply in replies), strict=True))


def session_list(*, account_id: str, current_session_id: str) -> list[dict]:
    """The user's live sessions, newest first, marking the one making the call."""
    now = datetime.now(UTC)
    rows = database_call(lambda: list(
        Session.objects.filter(account_id=account_id, revoked_at__isnull=True,
                               absolute_expires_at__gt=now).order_by("-created_at", "pk")))
    hot = _hot_activity([row.token_hash for row in rows])
    idle_ms = session_settings.IDLE_TIMEOUT * 1000
    now_ms = epoch_ms(now)
    listed = []
    for row in rows:
        la_hot, tombstone = hot.get(row.token_hash, (None, None))
        if tombstone:
            continue
        last_activity = max(epoch_ms(row.last_activity_at), int(la_hot or 0))
        expires = min(last_activity + idle_ms, epoch_ms(row.absolute_expires_at))
        if expires <= now_ms:
            continue
        listed.append({
            "id": str(row.pk),
            "created_at": rfc3339(epoch_ms(row.created_at)),
            "last_activity_at": rfc3339(last_activity),
            "expires_at": rfc3339(expires),
            "ip": row.ip,
            "user_agent": row.user_agent,
            "device": device_describe(row.user_agent),
            "current": str(row.pk) == current_session_id,
        })
    return listed
