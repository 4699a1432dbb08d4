"""Structured logs: one JSON object per line, carrying the request id and the ``extra`` fields
the code passes (``session_id``, ``account_id``, counts), so an operator can follow one
session by its public id. Anything shaped like a session token, a token hash or an
``Authorization`` value is masked before it is written.
"""

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}
# Each pattern starts with a literal or a narrow class, and the cheap ones run only when their
# marker is present: redaction costs a few microseconds per line.
_TOKEN = re.compile(r"sst_[A-Za-z0-9_-]{20,}")  # session tokens
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")  # access, logout tokens
_AUTHORIZATION = re.compile(r"(?i:\b(?:bearer|service)\s+)[A-Za-z0-9._~+/=-]{16,}")
_HASH = re.compile(r"[0-9a-f]{64}")  # SHA-256 token hashes
MASK = "[redacted]"
_PLAIN = (int, float, bool, type(None))


def redact(text: str) -> str:
    if "sst_" in text:
        text = _TOKEN.sub(MASK, text)
    if "eyJ" in text:
        text = _JWT.sub(MASK, text)
    lowered = text.lower()
    if "bearer" in lowered or "service" in lowered:
        text = _AUTHORIZATION.sub(MASK, text)
    return _HASH.sub(MASK, text)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request (or task) being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra}`` on one line.

    An exception is reduced to its type and message: log lines never carry a stack trace.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value if isinstance(value, _PLAIN) else str(value)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = f"{type(error).__name__}: {error}"
        return redact(json.dumps(entry, ensure_ascii=False, default=str))
