"""Strict JSON: what Python's ``json`` lets through and the contract does not.

Refused: duplicate keys, ``NaN``/``Infinity``, numbers that overflow to infinity, nesting
deeper than the limit, ``\\u0000`` and lone surrogates, invalid UTF-8.
"""

import json
import math

from .conf import session_settings
from .errors import ApiError


def _bad(detail: str) -> ApiError:
    return ApiError("validation_error", detail, errors={"body": [detail]})


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _bad(f"Duplicate key {key[:40]!r}.")
        result[key] = value
    return result


def _refuse_constant(name):
    raise _bad(f"{name} is not valid JSON.")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise _bad("Number out of range.")
    return value


def _check(value, depth: int, limit: int) -> None:
    if depth > limit:
        raise _bad(f"Nesting deeper than {limit} levels.")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check(item, depth + 1, limit)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1, limit)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise _bad("\\u0000 is not allowed in strings.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("Lone surrogates are not allowed in strings.") from None


def json_loads_strict(raw: bytes):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("The body is not valid UTF-8.") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise _bad("Nesting too deep.") from None
    except ValueError as error:  # JSONDecodeError, and ints too long to convert
        raise _bad(f"Malformed JSON: {str(error)[:120]}.") from None
    _check(value, 1, session_settings.MAX_JSON_DEPTH)
    return value
