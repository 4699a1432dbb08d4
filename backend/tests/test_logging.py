"""Structured logs: one JSON object per line, a request id, the session's public id, and never
a token, a token hash or a stack trace."""

import io
import json
import logging
import sys
from datetime import UTC, datetime

import pytest

from sessions_api.logging import JsonFormatter, RequestIdFilter, redact
from sessions_api.tokens import token_hash


@pytest.fixture
def json_log():
    """Everything logged during the test, as the production handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


def test_one_session_can_be_followed_by_its_public_id(api, json_log):
    created = api.create()
    token, public_id = created["token"], created["session"]["id"]
    response = api.current(token, headers={"HTTP_X_REQUEST_ID": "req-42"})
    assert response["X-Request-ID"] == "req-42"
    api.logout(token)
    lines = json_log()
    mine = [line for line in lines if line.get("session_id") == public_id]
    assert [line["message"] for line in mine] == [
        "session created", "GET /api/sessions/current/ 200", "session revoked",
        "DELETE /api/sessions/current/ 204"]
    access = mine[1]
    assert access["request_id"] == "req-42"
    assert access["status"] == 200 and 0 < access["duration_ms"] < 10_000
    created_line = mine[0]
    create_access = next(line for line in lines
                         if line["message"] == "POST /api/sessions/create/ 201")
    assert created_line["request_id"] == create_access["request_id"] != "-"
    everything = "\n".join(json.dumps(line) for line in lines)
    assert token not in everything
    assert token_hash(token) not in everything


def test_a_request_id_is_made_when_none_or_a_bad_one_is_given(api):
    made = api.call("GET", "/api/health/live/")["X-Request-ID"]
    assert len(made) == 32
    bad = api.call("GET", "/api/health/live/",
                   headers={"HTTP_X_REQUEST_ID": "x" * 65})["X-Request-ID"]
    assert bad != "x" * 65 and len(bad) == 32
    spaced = api.call("GET", "/api/health/live/", headers={"HTTP_X_REQUEST_ID": "a b"})
    assert spaced["X-Request-ID"] != "a b"


def format_record(message, *args, exc_info=None, **extra) -> dict:
    """Formatted directly, not logged: the run's log guard rightly fails on a logged token."""
    record = logging.makeLogRecord({"name": "sessions_api.test", "levelno": logging.ERROR,
                                    "levelname": "ERROR", "msg": message, "args": args,
                                    "exc_info": exc_info, **extra})
    return json.loads(JsonFormatter().format(record))


def test_secrets_are_masked_and_exceptions_lose_their_stack():
    token = "sst_" + "Q" * 43
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
    info = format_record("header was Session %s", token, hash=token_hash(token), n=3)
    assert info["message"] == "header was Session [redacted]"
    assert info["hash"] == "[redacted]" and info["n"] == 3
    try:
        raise ValueError(f"bad token {jwt}")
    except ValueError:
        failure = format_record("failed", exc_info=sys.exc_info())
    assert failure["error"] == "ValueError: bad token [redacted]"
    assert "Traceback" not in json.dumps(failure)
    assert redact(f"Authorization: Bearer {'k' * 30}") == "Authorization: [redacted]"
    kept = "session 6f1c1d8e-8d1b-4a8e-9a51-1f8f6a1c2b3d of account 12"
    assert redact(kept) == kept


def test_a_token_put_in_a_url_never_reaches_a_log_record(api, caplog):
    token = api.create()["token"]
    with caplog.at_level(logging.INFO, logger="sessions_api.access"):
        assert api.call("GET", f"/api/sessions/{token}/").status_code == 404
    [line] = [r for r in caplog.records if r.name == "sessions_api.access" and r.status == 404]
    assert line.path == "/api/sessions/[redacted]/"
    assert token not in line.getMessage()


@pytest.mark.parametrize("created", [1764820030.0, 1764820030.7379, 1764820030.9999996,
                                     1.5e9 + 0.001])
def test_the_time_is_iso_8601_with_milliseconds(created):
    record = logging.makeLogRecord({"name": "sessions_api.test", "msg": "m", "created": created})
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    formatter = JsonFormatter()
    assert json.loads(formatter.format(record))["time"] == expected
    assert json.loads(formatter.format(record))["time"] == expected  # and from its cache


def test_the_access_line_is_the_record_logger_info_would_make(api, caplog):
    token = api.create()["token"]
    with caplog.at_level(logging.INFO, logger="sessions_api.access"):
        api.current(token)
    [line] = [r for r in caplog.records if r.name == "sessions_api.access"
              and r.getMessage().startswith("GET")]
    assert (line.levelno, line.getMessage()) == (logging.INFO, "GET /api/sessions/current/ 200")
    assert (line.method, line.path, line.status) == ("GET", "/api/sessions/current/", 200)
    assert line.session_id == api.current(token).json()["id"]


ACCESS_CASES = [
    ("GET", "/api/sessions/current/", 200, 0.41, "b6d4bdf4-c099-4fd9-ab19-a91a0550d0de"),
    ("DELETE", "/api/sessions/current", 204, 12.0, None),
    ("GET", '/a"quote\\back\tslash/\x01\x1f', 404, 0.0, None),
    ("PATCH", "/ünïcode/😀/\u2028/", 401, 1234.56, "id with \"quotes\""),
    ("BREW", "/x?sst_" + "A" * 43, 405, 3.14159, None),
]


@pytest.mark.parametrize(("method", "path", "status", "duration", "session_id"), ACCESS_CASES)
def test_the_access_line_template_writes_what_the_general_formatter_writes(
        method, path, status, duration, session_id):
    from sessions_api.logging import ACCESS_LOGGER, access_record

    record = access_record(logging.getLogger(ACCESS_LOGGER), method, path, status, duration,
                           session_id)
    RequestIdFilter().filter(record)
    formatter = JsonFormatter()
    assert formatter._access_line(record, record.__dict__) is not None  # the template ran
    line = formatter.format(record)
    assert line == redact(formatter._entry_line(record))
    assert json.loads(line)["status"] == status


def test_an_access_record_with_anything_more_takes_the_general_path():
    """A filter adding a field, or a value of another type, must not be lost by the template."""
    from sessions_api.logging import ACCESS_LOGGER, access_record

    formatter = JsonFormatter()
    record = access_record(logging.getLogger(ACCESS_LOGGER), "GET", "/", 200, 1.0, None)
    RequestIdFilter().filter(record)
    record.tenant = "acme"
    assert json.loads(formatter.format(record))["tenant"] == "acme"
    record = access_record(logging.getLogger(ACCESS_LOGGER), "GET", "/", 200, 1, None)
    RequestIdFilter().filter(record)
    assert formatter._access_line(record, record.__dict__) is None  # an int duration
    assert json.loads(formatter.format(record))["duration_ms"] == 1


@pytest.mark.parametrize("text", [
    "a" * 64, "x" + "0123456789abcdef" * 4 + "y", "é" + "f" * 63 + "é" + "f" * 64,
    "f" * 63 + "g" + "f" * 63, "F" * 64, "\ud800" + "e" * 64, "ab" * 100, "",
    "x" * 64,  # the map's own letter is not a hex digit
])
def test_the_hash_precheck_masks_exactly_what_the_pattern_masks(text):
    from sessions_api.logging import _HASH, MASK

    assert redact(text) == _HASH.sub(MASK, text)


def test_the_hash_precheck_agrees_with_the_pattern_on_random_text():
    import random

    from sessions_api.logging import _HASH, MASK

    rng = random.Random(7)  # noqa: S311 - reproducible test text, not a secret
    alphabet = "0123456789abcdefABCDEFxyz- é\u2028"
    masked = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) if rng.random() < 0.02 else rng.choice("0123abcdef")
                       for _ in range(rng.randrange(0, 200)))
        assert redact(text) == _HASH.sub(MASK, text)
        masked += MASK in redact(text)
    assert 300 < masked < 2700  # both kinds of text were drawn
