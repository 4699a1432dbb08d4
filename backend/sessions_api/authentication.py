"""The DRF authentication class, at the path hosts configure; it lives in
``api/authentication.py``."""

from .api.authentication import SessionContext, SessionTokenAuthentication, session_authenticate

__all__ = ["SessionContext", "SessionTokenAuthentication", "session_authenticate"]
