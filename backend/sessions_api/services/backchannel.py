"""OpenID Connect Back-Channel Logout 1.0: the identity provider ends a user's sessions.

The logout token is a JWT signed by the same keys as access tokens, with ``aud`` equal to
``AUTH0_CLIENT_ID``. Each ``jti`` is accepted once: it is remembered in Redis (``SET NX``)
until the token expires, so a replay is refused.
"""

import hashlib

from ..conf import session_settings
from ..errors import ApiError
from ..identity.verify import jwt_verify
from ..models import Account, RevokeReason
from ..store import session_store
from ..store.audit import database_call
from . import Caller, account_sessions_revoke

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def _refuse(detail: str) -> ApiError:
    return ApiError("validation_error", detail, errors={"logout_token": [detail]})


def logout_token_verify(logout_token: str) -> dict:
    claims = jwt_verify(logout_token, audience=session_settings.AUTH0_CLIENT_ID,
                        invalid="validation_error")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise _refuse("The logout token lacks the back-channel logout event.")
    if "nonce" in claims:
        raise _refuse("A logout token must not carry a nonce.")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise _refuse("The logout token has no jti.")
    if "sid" in claims and (not isinstance(claims["sid"], str) or not claims["sid"]):
        raise _refuse("The logout token's sid must be a string.")
    return claims


def _jti_key(claims: dict) -> str:
    digest = hashlib.sha256(f"{claims['iss']}|{claims['jti']}".encode()).hexdigest()
    return f"{session_settings.REDIS_KEY_PREFIX}:bcl:{{{digest[:2]}}}{digest}"


def _jti_claim(claims: dict) -> str:
    """Remember the ``jti`` until the token expires; a second use is a replay."""
    hot = session_store.hot
    ttl_ms = max(claims["exp"] * 1000 - hot.clock(), 0) + session_settings.TOKEN_LEEWAY * 1000
    key = _jti_key(claims)
    if not session_store.redis_call(hot.client.set, key, "1", nx=True, px=max(ttl_ms, 1000)):
        raise _refuse("This logout token has been used already.")
    return key


def backchannel_logout(*, logout_token: str, caller: Caller) -> int:
    """Revoke the sessions the logout token names; returns how many."""
    if not session_settings.AUTH0_CLIENT_ID:
        raise ApiError("not_found", "Back-channel logout is not configured.")
    claims = logout_token_verify(logout_token)
    key = _jti_claim(claims)
    try:
        account = database_call(
            Account.objects.filter(issuer=claims["iss"], subject=claims["sub"]).first)
        if account is None:
            return 0
        return account_sessions_revoke(account=account, reason=RevokeReason.IDENTITY_PROVIDER,
                                       caller=caller, identity_provider_sid=claims.get("sid", ""))
    except Exception:
        # Nothing was done: let the identity provider's retry through.
        session_store.redis_call(session_store.hot.client.delete, key)
        raise
