"""Access-token verification (SPEC section 8), with PyJWT against the configured keys only."""

import jwt

from ..conf import session_settings
from ..errors import ApiError
from .dev import dev_jwks
from .jwks import KeySet, jwks_cache

ASYMMETRIC = {
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]


def _signing_key(kid: str | None) -> jwt.PyJWK:
    if session_settings.dev_identity:
        key = KeySet(dev_jwks()["keys"], 0).find(kid)
        if key is None:
            raise ApiError("token_invalid", "The access token is signed with an unknown key.")
        return key
    return jwks_cache.signing_key(kid)


def jwt_verify(token: str, *, audience: str, invalid: str = "token_invalid") -> dict:
    """Verify signature, issuer, audience and times. Header keys (``jku``, ``x5u``, ``jwk``,
    ``x5c``) are never used to find a key: only the configured JWKS is trusted."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise ApiError(invalid, "The token is not a well-formed JWT.") from None
    allowed = [alg for alg in session_settings.AUTH0_ALGORITHMS if alg in ASYMMETRIC]
    algorithm = header.get("alg")
    if algorithm not in allowed:
        raise ApiError(invalid, "The token's signing algorithm is not accepted.")
    if "crit" in header:
        raise ApiError(invalid, "The token has critical header extensions we do not support.")
    key = _signing_key(header.get("kid"))
    try:
        return jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=audience,
            issuer=session_settings.issuer,
            leeway=session_settings.TOKEN_LEEWAY,
            options={"require": REQUIRED_CLAIMS, "strict_aud": False},
        )
    except jwt.ExpiredSignatureError:
        if invalid == "token_invalid":
            raise ApiError("token_expired", "The access token has expired.") from None
        raise ApiError(invalid, "The token has expired.") from None
    except jwt.PyJWTError as error:
        raise ApiError(invalid, f"The token was refused: {_reason(error)}.") from None


def _reason(error: jwt.PyJWTError) -> str:
    # PyJWT's messages name the failed check without echoing the token.
    return str(error).rstrip(".") or type(error).__name__


def access_token_verify(token: str) -> dict:
    claims = jwt_verify(token, audience=session_settings.audience)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise ApiError("token_invalid", "The access token has no subject.")
    if claims["sub"].endswith("@clients") or claims.get("gty") == "client-credentials":
        raise ApiError("token_invalid", "Machine-to-machine tokens cannot open a session.")
    return claims
