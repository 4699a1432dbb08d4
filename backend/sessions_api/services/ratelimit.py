"""Fixed-window rate limits in Redis, so they hold across every web instance.

One round trip per check: ``INCR`` and, on the window's first hit, ``PEXPIRE``, in one script.
While Redis is down the limits are not enforced: refusing every sign-in would be worse.
"""

import hashlib
import logging

from ..conf import parse_rate, session_settings
from ..errors import ApiError, StoreUnavailable
from ..store import session_store

logger = logging.getLogger("sessions_api.ratelimit")

# KEYS: counter. ARGV: window_ms. Returns the count in this window.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def rate_hit(*, scope: str, subject: str, rate: str) -> tuple[int, int, int]:
    """Count one hit; returns (count, limit, ms left in the window). Raises ``StoreUnavailable``."""
    limit, period = parse_rate(rate)
    hot = session_store.hot
    now, period_ms = hot.clock(), period * 1000
    window = now // period_ms
    # The hash tag keeps one subject's counters on one cluster slot.
    key = f"{session_settings.REDIS_KEY_PREFIX}:rl:{scope}:{{{_digest(subject)}}}:{period}:{window}"
    count = session_store.redis_call(hot.client.eval, _HIT, 1, key, period_ms)
    return int(count), limit, (window + 1) * period_ms - now


def rate_limit(*, scope: str, subject: str, rate: str) -> None:
    """``429 rate_limited`` with ``Retry-After`` once ``subject`` is past ``rate``."""
    try:
        count, limit, left = rate_hit(scope=scope, subject=subject, rate=rate)
    except StoreUnavailable:
        return
    if count > limit:
        retry_after = max(1, -(-left // 1000))
        if count == limit + 1:
            logger.warning("rate limit reached", extra={"scope": scope})
        raise ApiError("rate_limited", f"Too many attempts; retry in {retry_after} s.",
                       headers={"Retry-After": str(retry_after)})


def create_rate_limit_ip(ip: str | None) -> None:
    if ip:
        rate_limit(scope="create-ip", subject=ip, rate=session_settings.CREATE_RATE_IP)


def create_rate_limit_user(claims: dict) -> None:
    subject = f"{claims.get('iss')}|{claims.get('sub')}"
    rate_limit(scope="create-user", subject=subject, rate=session_settings.CREATE_RATE_USER)
