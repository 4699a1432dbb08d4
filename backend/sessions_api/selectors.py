"""Reads that are not the hot path: the list of a user's live sessions."""

from datetime import UTC, datetime
from functools import lru_cache

from ua_parser import parse

from .conf import session_settings
from .errors import StoreUnavailable
from .models import Session
from .store import session_store
from .store.audit import database_call
from .store.record import HotRecord, Tombstone, epoch_ms, rfc3339


def _hot_copies(token_hashes: list[str]) -> dict[str, HotRecord | Tombstone | None]:
    """Each session as Redis holds it, in one round trip: the audit copy's activity lags by up
    to one flush interval, Redis has the exact value (and knows a revocation made while the
    database was down)."""
    if not token_hashes:
        return {}
    try:
        copies = session_store.redis_call(session_store.hot.peek_many, token_hashes)
    except StoreUnavailable:
        return {}
    return dict(zip(token_hashes, copies, strict=True))


def session_list(*, account_id: str, current_session_id: str) -> list[dict]:
    """The user's live sessions, newest first, marking the one making the call."""
    now = datetime.now(UTC)
    rows = database_call(lambda: list(
        Session.objects.live(now).filter(account_id=account_id)
        .order_by("-created_at", "pk")))
    hot = _hot_copies([row.token_hash for row in rows])
    idle_ms = session_settings.IDLE_TIMEOUT * 1000
    now_ms = epoch_ms(now)
    listed = []
    for row in rows:
        copy = hot.get(row.token_hash)
        if isinstance(copy, Tombstone):
            continue
        last_activity = epoch_ms(row.last_activity_at)
        if isinstance(copy, HotRecord):
            last_activity = max(last_activity, copy.last_activity_ms)
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


# ua-parser's family names, as people call them.
_OS_NAMES = {"Mac OS X": "macOS", "iOS": "iOS", "Chrome OS": "ChromeOS"}
_UNKNOWN = "Other"


@lru_cache(maxsize=2048)
def device_describe(user_agent: str) -> str:
    """A person-readable device name from a user agent: "Chrome on macOS"."""
    if not user_agent:
        return "Unknown device"
    result = parse(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else _UNKNOWN
    system = result.os.family if result.os else _UNKNOWN
    system = _OS_NAMES.get(system, system)
    if browser == _UNKNOWN and system == _UNKNOWN:
        return "Unknown device"
    if system == _UNKNOWN:
        return browser
    if browser == _UNKNOWN:
        return system
    return f"{browser} on {system}"
