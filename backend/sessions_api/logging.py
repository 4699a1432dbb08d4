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
# The hash pattern is the costly one (each hex digit starts a new try), and nearly every line
# has none: a byte-wise map of the line, hex digits to "x", finds a run of 64 in a tenth of
# the time, and the pattern runs only then. Non-ASCII text maps to bytes >= 0x80, never "x".
_HEX_MAP = bytes(0x78 if chr(code) in "0123456789abcdef" else 0x20 for code in range(256))
_HEX_RUN = b"x" * 64
MASK = "[redacted]"
_PLAIN = (int, float, bool, type(None))
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_STRING = json.encoder.encode_basestring  # how _ENCODER writes a string

ACCESS_LOGGER = "sessions_api.access"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "session_id")
# The attributes of an access record once RequestIdFilter has stamped it, and nothing else.
_ACCESS_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {*ACCESS_FIELDS,
                                                                        "request_id"}


def redact(text: str) -> str:
    if "sst_" in text:
        text = _TOKEN.sub(MASK, text)
    if "eyJ" in text:
        text = _JWT.sub(MASK, text)
    lowered = text.lower()
    if "bearer" in lowered or "service" in lowered:
        text = _AUTHORIZATION.sub(MASK, text)
    if _HEX_RUN in text.encode("utf-8", "surrogatepass").translate(_HEX_MAP):
        text = _HASH.sub(MASK, text)
    return text


def access_record(logger: logging.Logger, method: str, path: str, status: int,
                  duration_ms: float, session_id: str | None) -> logging.LogRecord:
    """The access line of one request (``path`` already redacted), as ``Logger.info`` would
    make it, without looking up the caller's source line."""
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 0, "%s %s %s", (method, path, status), None,
        extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms,
               "session_id": session_id})


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request (or task) being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra}`` on one line.

    An exception is reduced to its type and message: log lines never carry a stack trace.
    """

    _last_second = (None, "")  # (epoch second, its text), replaced whole: threads share it

    def _time(self, created: float) -> str:
        """``2026-12-04T03:27:10.737+00:00``; the part up to the second is formatted once per
        second."""
        second = int(created)
        micros = round((created - second) * 1e6)  # rounded as datetime.fromtimestamp does
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        cached, text = self._last_second
        if second != cached:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._last_second = (second, text)
        return f"{text}.{micros // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        if record.name == ACCESS_LOGGER and fields.keys() == _ACCESS_ATTRIBUTES:
            line = self._access_line(record, fields)
            if line is not None:
                return redact(line)
        return redact(self._entry_line(record))

    def _access_line(self, record: logging.LogRecord, fields: dict) -> str | None:
        """The access line (``access_record``) from a template: the line ``_entry_line``
        writes for it, in a third of the time (``test_logging.py`` holds them equal); ``None``
        for a record whose values are not the types the middleware gives."""
        method, path, status = fields["method"], fields["path"], fields["status"]
        duration, session_id, request_id = (fields["duration_ms"], fields["session_id"],
                                            fields["request_id"])
        if (record.exc_info or type(method) is not str or type(path) is not str
                or type(status) is not int or type(duration) is not float
                or type(request_id) is not str
                or not (session_id is None or type(session_id) is str)):
            return None
        return (
            f'{{"time": "{self._time(record.created)}", "level": {_STRING(record.levelname)}, '
            f'"logger": "{ACCESS_LOGGER}", "message": {_STRING(record.getMessage())}, '
            f'"request_id": {_STRING(request_id)}, "method": {_STRING(method)}, '
            f'"path": {_STRING(path)}, "status": {status!r}, "duration_ms": {duration!r}, '
            f'"session_id": {"null" if session_id is None else _STRING(session_id)}}}'
        )

    def _entry_line(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record.created),
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
        return _ENCODER.encode(entry)
