"""Unknown session tokens: every one is counted; a burst from one client IP is logged.

A client guessing tokens cannot succeed (256 random bits), but it is worth seeing. The token
itself is never logged, only the client IP and the count.
"""

import logging

from ..errors import StoreUnavailable
from ..metrics import UNKNOWN_TOKEN_BURSTS, UNKNOWN_TOKENS
from ..services.ratelimit import rate_hit
from .caller import client_ip

logger = logging.getLogger("sessions_api.abuse")

# So many unknown tokens from one IP within a minute make a burst.
BURST_PER_MINUTE = 20


def unknown_token_note(request) -> None:
    UNKNOWN_TOKENS.inc()
    ip = client_ip(request)
    if not ip:
        return
    try:
        count, _, _ = rate_hit(scope="unknown-token", subject=ip, rate=f"{BURST_PER_MINUTE}/m")
    except StoreUnavailable:
        return
    if count == BURST_PER_MINUTE:
        UNKNOWN_TOKEN_BURSTS.inc()
        logger.warning("burst of unknown session tokens", extra={"client_ip": ip, "count": count})
