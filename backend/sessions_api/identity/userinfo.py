"""Auth0 ``/userinfo``, for the email and name an access token does not carry."""

import logging
from urllib.parse import urlsplit

from auth0.authentication import Users

from ..conf import session_settings

logger = logging.getLogger("sessions_api.identity")

SUFFIX = "/userinfo"


def userinfo_fetch(access_token: str) -> dict:
    """The profile, or ``{}`` when the provider cannot say: a failure never fails a login."""
    url = urlsplit(session_settings.userinfo_url)
    path = url.path.rstrip("/")
    if not path.endswith(SUFFIX):
        logger.warning("AUTH0_USERINFO_URL must end in /userinfo; skipping the lookup")
        return {}
    domain = url.netloc + path[: -len(SUFFIX)]
    client = Users(
        domain, telemetry=False, timeout=session_settings.USERINFO_TIMEOUT, protocol=url.scheme
    )
    try:
        profile = client.userinfo(access_token)
    except Exception as error:  # the provider's failure is not the user's
        logger.warning("userinfo lookup failed", extra={"error": type(error).__name__})
        return {}
    return profile if isinstance(profile, dict) else {}
