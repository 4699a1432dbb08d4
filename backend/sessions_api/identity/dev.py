"""The dev identity provider: with DJANGO_DEBUG=1 and no AUTH0_DOMAIN the service is its own
issuer, signing access tokens with a key kept under ``.run/``."""

import json
import os
import threading
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..conf import session_settings

DEV_KID = "dev-1"
_lock = threading.Lock()
_cache: dict[str, tuple[object, dict]] = {}


def _key_and_jwk():
    path = Path(session_settings.DEV_KEY_PATH).resolve()
    cached = _cache.get(str(path))
    if cached:
        return cached
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        public_jwk.update({"kid": DEV_KID, "use": "sig", "alg": "RS256"})
        _cache[str(path)] = (private, public_jwk)
        return _cache[str(path)]


def dev_jwks() -> dict:
    return {"keys": [_key_and_jwk()[1]]}


def dev_token_mint(*, sub: str, email: str = "", name: str = "", ttl: int = 3600) -> str:
    private, _ = _key_and_jwk()
    now = int(time.time())
    claims = {
        "iss": session_settings.issuer,
        "aud": [session_settings.audience],
        "sub": sub,
        "iat": now,
        "exp": now + ttl,
        "sid": uuid.uuid4().hex,
        "scope": "openid profile email",
    }
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": DEV_KID})
