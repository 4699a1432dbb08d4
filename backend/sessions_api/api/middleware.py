"""Request id, access log and request metrics. Both middlewares cost a few microseconds; the
only store call they make is the batched failed-authentication count (at most one Redis
write per second per process)."""

import logging
import os
import re
import time

from ..logging import ACCESS_LOGGER, access_record, redact, request_id_var
from ..metrics import CREATE_OUTCOMES, REQUEST_LATENCY, VALIDATE_OUTCOMES, problem_code
from ..ops.figures import auth_failures

access_log = logging.getLogger(ACCESS_LOGGER)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Outcomes of a session-token check; any other error came after the token was accepted.
_VALIDATION_CODES = {"session_missing", "session_invalid", "session_expired",
                     "session_revoked", "store_unavailable"}


def request_id_of(request) -> str:
    """The caller's ``X-Request-ID`` when it is well formed, else a new one."""
    given = request.META.get("HTTP_X_REQUEST_ID")
    # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID.
    return given if given and _SAFE_REQUEST_ID.match(given) else os.urandom(16).hex()


def request_answered(request, response, request_id: str, started: float) -> None:
    """Answers with the request id and writes the request's one access-log line."""
    response.headers["X-Request-ID"] = request_id
    if access_log.isEnabledFor(logging.INFO):
        context = getattr(request, "auth", None)
        # The record is made and handed to the handlers directly: Logger.info would also
        # walk the stack for the caller's file and line, which no line shows.
        access_log.handle(access_record(
            access_log, request.method,
            redact(request.path),  # a client may put anything in a URL, a token too
            response.status_code, round((time.perf_counter() - started) * 1000, 2),
            getattr(context, "id", None)))


def request_count(request, response, elapsed: float, match) -> None:
    """Latency per endpoint (``match``: the request's ``ResolverMatch``), and the outcome of
    a create or a session check."""
    endpoint = match.view_name if match is not None and match.url_name else "other"
    method = request.method if request.method in _METHODS else "other"
    REQUEST_LATENCY.labels(endpoint, method).observe(elapsed)
    if match is not None and "sessions_api" in match.app_names:
        _count_outcome(request, response, match.url_name)


class RequestIdMiddleware:
    """Takes a well-formed ``X-Request-ID`` from the caller (or makes one), stamps every log
    line of the request with it, answers with it, and writes one access-log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_of(request)
        reset = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            request_answered(request, response, request_id, started)
            return response
        finally:
            request_id_var.reset(reset)


class MetricsMiddleware:
    """Latency per endpoint, create and validate outcomes by ``code``, failed authentications."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        request_count(request, response, time.perf_counter() - started, request.resolver_match)
        return response


def _count_outcome(request, response, url_name: str | None) -> None:
    status = response.status_code
    code = "ok" if status < 400 else (problem_code(response) or str(status))
    if url_name == "create":
        CREATE_OUTCOMES.labels(code).inc()
    elif (code == "ok" or code in _VALIDATION_CODES) and _has_session_header(request):
        VALIDATE_OUTCOMES.labels(code).inc()
    if status == 401:
        auth_failures.record()


def _has_session_header(request) -> bool:
    return request.META.get("HTTP_AUTHORIZATION", "")[:8].lower() == "session "
