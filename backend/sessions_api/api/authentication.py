"""``Authorization: Session <token>`` for DRF, and for the hot-path view that skips DRF."""

from django.contrib.auth import get_user_model
from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import BaseAuthentication

from ..errors import WWW_AUTHENTICATE, ApiError
from ..store import Ended, session_store
from ..store.record import HotRecord
from ..tokens import token_hash, token_is_well_formed
from .abuse import unknown_token_note

SCHEME = "session"


def session_token_from_header(header: str | None) -> str | None:
    """The token of a ``Session`` header; ``None`` for another scheme or no header.

    A malformed token of our scheme is refused here, before any store is asked.
    """
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != SCHEME:
        return None
    token = token.strip()
    if not token_is_well_formed(token):
        raise ApiError("session_invalid", "The session token is malformed.")
    return token


class SessionUser(SimpleLazyObject):
    """The session's user, loaded from the database only when a view first looks at it.

    Permission checks (``is_authenticated``) cost nothing, so an authenticated request runs
    no SQL unless the view needs the user row itself.
    """

    is_authenticated = True
    is_anonymous = False

    def __bool__(self):  # ``if request.user`` must not load the row either
        return True

    def __init__(self, user_pk: str):
        def load():
            User = get_user_model()
            return User._default_manager.get(pk=User._meta.pk.to_python(user_pk))

        super().__init__(load)


class SessionContext:
    """``request.auth`` of a session-authenticated request."""

    __slots__ = ("record", "token_hash", "_user", "_public")

    def __init__(self, record: HotRecord, hashed: str):
        self.record = record
        self.token_hash = hashed
        self._user = None
        self._public = None

    @property
    def user(self) -> SessionUser:
        """The session's user (``SessionUser``: loaded when first looked at); the hot path
        never asks."""
        if self._user is None:
            self._user = SessionUser(self.record.user_pk)
        return self._user

    @property
    def id(self) -> str:
        return self.record.session_id

    @property
    def public(self) -> dict:
        """The ``<Session>`` fields: user, tenant, onboarding and subscription state, data."""
        if self._public is None:
            self._public = self.record.public()
        return self._public

    @property
    def tenant(self) -> dict | None:
        return self.public["tenant"]

    @property
    def needs_onboarding(self) -> bool:
        return self.public["needs_onboarding"]

    @property
    def onboarding_completed(self) -> bool:
        return self.public["onboarding_completed"]

    @property
    def subscription_plan(self) -> str:
        return self.public["subscription_plan"]

    @property
    def subscription_status(self) -> str:
        return self.public["subscription_status"]

    @property
    def data(self) -> dict:
        return self.public["data"]


_ENDED = {
    "revoked": ("session_revoked", "This session has been revoked."),
    "expired": ("session_expired", "This session has expired; sign in again."),
    "unknown": ("session_invalid", "No such session."),
}


def session_authenticate_request(request) -> SessionContext | None:
    """``session_authenticate`` for a request, noting a token nobody knows (``abuse``)."""
    try:
        return session_authenticate(request.META.get("HTTP_AUTHORIZATION"))
    except ApiError as error:
        if error.code == "session_invalid":
            unknown_token_note(request)
        raise


def session_authenticate(header: str | None) -> SessionContext | None:
    token = session_token_from_header(header)
    if token is None:
        return None
    hashed = token_hash(token)
    found = session_store.read(hashed)
    if isinstance(found, Ended):
        raise ApiError(*_ENDED[found.why])
    return SessionContext(found, hashed)


class SessionTokenAuthentication(BaseAuthentication):
    """DRF authentication class: ``request.user`` is the session's user, ``request.auth``
    its ``SessionContext``. Another scheme is not ours (``None``); a bad session of ours
    raises ``session_invalid``/``_expired``/``_revoked``."""

    def authenticate(self, request):
        context = session_authenticate_request(request)
        if context is None:
            return None
        return context.user, context

    def authenticate_header(self, request):
        return WWW_AUTHENTICATE
