"""The one error shape: RFC 9457 problem details, built from typed exceptions.

Views raise ``ApiError`` (or DRF raises its own exceptions); ``problem_response`` renders
both. No view builds an error body by hand.
"""

import json

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from rest_framework import exceptions as drf

PROBLEM_CONTENT_TYPE = "application/problem+json"
WWW_AUTHENTICATE = 'Session realm="api"'
TYPE_BASE = "https://session-service.dev/problems/"

# code -> (status, title)
CODES: dict[str, tuple[int, str]] = {
    "token_missing": (401, "Access token missing"),
    "token_invalid": (401, "Access token invalid"),
    "token_expired": (401, "Access token expired"),
    "session_missing": (401, "Session token missing"),
    "session_invalid": (401, "Session token invalid"),
    "session_expired": (401, "Session expired"),
    "session_revoked": (401, "Session revoked"),
    "service_token_invalid": (401, "Service token invalid"),
    "validation_error": (400, "Invalid request"),
    "unknown_field": (400, "Unknown field"),
    "field_not_writable": (403, "Field not writable"),
    "forbidden": (403, "Forbidden"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    "precondition_failed": (412, "Precondition failed"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "rate_limited": (429, "Too many requests"),
    "store_unavailable": (503, "Session store unavailable"),
    "identity_provider_unavailable": (503, "Identity provider unavailable"),
}


class ApiError(Exception):
    def __init__(self, code: str, detail: str = "", *, errors=None, headers=None):
        if code not in CODES:
            raise ValueError(f"undocumented error code {code!r}")
        self.code = code
        self.status, self.title = CODES[code]
        self.detail = detail or self.title
        self.errors = errors
        self.headers = dict(headers or {})
        super().__init__(f"{code}: {self.detail}")


class StoreUnavailable(Exception):
    """A store (Redis or the database) did not answer: never read as "no session"."""

    def __init__(self, store: str, cause: BaseException | None = None):
        self.store = store
        super().__init__(f"{store} unavailable: {type(cause).__name__ if cause else 'down'}")


def problem_response(error: ApiError) -> HttpResponse:
    body = {
        "type": TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if error.errors:
        body["errors"] = error.errors
    response = HttpResponse(
        json.dumps(body), status=error.status, content_type=PROBLEM_CONTENT_TYPE
    )
    if error.status == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    for name, value in error.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def _from_drf(exc: drf.APIException) -> ApiError:
    if isinstance(exc, drf.NotAuthenticated):
        return ApiError("session_missing", "This call needs Authorization: Session <token>.")
    if isinstance(exc, drf.AuthenticationFailed):
        return ApiError("session_invalid")
    if isinstance(exc, drf.MethodNotAllowed):
        return ApiError("method_not_allowed", str(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return ApiError("unsupported_media_type", "Send application/json.")
    if isinstance(exc, drf.NotAcceptable):
        return ApiError("not_acceptable", str(exc.detail))
    if isinstance(exc, drf.NotFound):
        return ApiError("not_found")
    if isinstance(exc, drf.PermissionDenied):
        return ApiError("forbidden", str(exc.detail))
    if isinstance(exc, drf.Throttled):
        return ApiError("rate_limited", headers={"Retry-After": str(int(exc.wait or 1))})
    if isinstance(exc, drf.ValidationError):
        return ApiError("validation_error", errors=_field_errors(exc.detail))
    return ApiError("validation_error", str(exc.detail))


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(value) -> list[str]:
    return [str(message) for message in (value if isinstance(value, list) else [value])]


def store_unavailable() -> ApiError:
    return ApiError("store_unavailable", "The session store is not answering; try again.")


def exception_handler(exc, context):
    """DRF ``EXCEPTION_HANDLER``: every error of every view leaves through here."""
    if isinstance(exc, (StoreUnavailable, OperationalError, InterfaceError)):
        exc = store_unavailable()
    if isinstance(exc, drf.APIException):
        exc = _from_drf(exc)
    if isinstance(exc, ApiError):
        return problem_response(exc)
    return None
