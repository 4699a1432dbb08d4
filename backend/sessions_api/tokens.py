"""Session tokens: ``sst_`` + 43 base64url characters; only their SHA-256 is ever stored."""

import hashlib
import re
import secrets

PREFIX = "sst_"
_FORMAT = re.compile(r"^sst_[A-Za-z0-9_-]{43}$")


def token_generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def token_is_well_formed(token: str) -> bool:
    return bool(_FORMAT.match(token))
