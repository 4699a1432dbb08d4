"""Signing keys of the identity provider, cached and shared by every worker through Redis.

Keys are fresh for ``JWKS_CACHE_SECONDS``. An unknown ``kid`` or stale keys trigger a fetch,
but at most one per ``JWKS_REFETCH_COOLDOWN`` for the whole deployment (a Redis ``SET NX``
slot; per process while Redis is down). A fetch has a short timeout, and a failed one keeps
the last good keys.
"""

import hashlib
import json
import logging
import threading
import time
import urllib.request

import jwt

from ..conf import session_settings
from ..errors import ApiError
from ..store.connection import CONNECTION_ERRORS, redis_client

logger = logging.getLogger("sessions_api.identity")

WAIT_STEP = 0.05

# One fetch slot per cooldown for the whole deployment. The slot holds the time it was taken,
# compared with the caller's clock, so the cooldown follows the same clock as everything else.
_TAKE_SLOT = """
local taken = redis.call('GET', KEYS[1])
if taken and tonumber(ARGV[1]) - tonumber(taken) < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', math.ceil(tonumber(ARGV[2])) * 2 + 1)
return 1
"""


class KeySet:
    def __init__(self, keys: list[dict], fetched_at: float):
        self.raw = keys
        self.fetched_at = fetched_at
        self.by_kid: dict[str | None, jwt.PyJWK] = {}
        for jwk in keys:
            try:
                self.by_kid[jwk.get("kid")] = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue  # a key type we cannot use (e.g. an encryption key)

    def find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self.by_kid) == 1:
            return next(iter(self.by_kid.values()))
        return self.by_kid.get(kid)


class JWKSCache:
    clock = staticmethod(time.time)
    fetches = 0  # how many times the JWKS URL was actually fetched by this process

    def __init__(self):
        self._local: dict[str, KeySet] = {}
        self._last_attempt: dict[str, float] = {}
        self._lock = threading.Lock()

    def signing_key(self, kid: str | None) -> jwt.PyJWK:
        url = session_settings.jwks_url
        local = self._local.get(url)
        if local is not None and self._is_fresh(local) and local.find(kid) is not None:
            return local.find(kid)
        # Another worker may have seen a rotation already: look at the shared copy first.
        keys = self._current(url)
        fresh = keys is not None and self._is_fresh(keys)
        key = keys.find(kid) if keys else None
        if key is not None and fresh:
            return key
        keys = self._refresh(url, keys) or keys
        key = keys.find(kid) if keys else None
        if key is not None:
            return key
        if keys is None or not keys.by_kid:
            raise ApiError(
                "identity_provider_unavailable", "The identity provider's keys are not available."
            )
        raise ApiError("token_invalid", "The access token is signed with an unknown key.")

    def _is_fresh(self, keys: KeySet) -> bool:
        return self.clock() - keys.fetched_at < session_settings.JWKS_CACHE_SECONDS

    def _shared_key(self, url: str, kind: str) -> str:
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        return f"{session_settings.REDIS_KEY_PREFIX}:jwks:{kind}:{digest}"

    def _current(self, url: str) -> KeySet | None:
        local = self._local.get(url)
        shared = self._read_shared(url)
        if shared is not None and (local is None or shared.fetched_at > local.fetched_at):
            self._local[url] = local = shared
        return local

    def _read_shared(self, url: str) -> KeySet | None:
        try:
            raw = redis_client().get(self._shared_key(url, "keys"))
        except CONNECTION_ERRORS:
            return None
        if not raw:
            return None
        local = self._local.get(url)
        document = json.loads(raw)
        if local is not None and local.fetched_at >= document["fetched_at"]:
            return local
        return KeySet(document["keys"], document["fetched_at"])

    def _refresh(self, url: str, known: KeySet | None) -> KeySet | None:
        if self._take_fetch_slot(url):
            return self._fetch(url)
        if known is None:
            # Another worker holds the slot and is fetching: wait for its result.
            deadline = self.clock() + session_settings.JWKS_FETCH_TIMEOUT
            while self.clock() < deadline:
                time.sleep(WAIT_STEP)
                keys = self._current(url)
                if keys is not None:
                    return keys
        return None

    def _take_fetch_slot(self, url: str) -> bool:
        cooldown = session_settings.JWKS_REFETCH_COOLDOWN
        try:
            client = redis_client()
            slot = self._shared_key(url, "slot")
            taken = client.eval(_TAKE_SLOT, 1, slot, self.clock(), cooldown)
            return bool(taken)
        except CONNECTION_ERRORS:
            with self._lock:
                now = self.clock()
                if now - self._last_attempt.get(url, float("-inf")) < cooldown:
                    return False
                self._last_attempt[url] = now
                return True

    def _fetch(self, url: str) -> KeySet | None:
        type(self).fetches += 1
        try:
            if not url.startswith(("https://", "http://")):
                raise ValueError("the JWKS URL must be http(s)")
            request = urllib.request.Request(  # noqa: S310 (scheme checked above)
                url, headers={"Accept": "application/json"})
            timeout = session_settings.JWKS_FETCH_TIMEOUT
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                keys = json.loads(response.read(1_000_000))["keys"]
            if not isinstance(keys, list):
                raise ValueError("'keys' is not a list")
        except Exception as error:  # any failure keeps the last good keys
            logger.warning(
                "JWKS fetch failed; keeping the last good keys",
                extra={"jwks_url": url, "error": type(error).__name__},
            )
            return None
        key_set = KeySet(keys, self.clock())
        self._local[url] = key_set
        try:
            document = json.dumps({"keys": keys, "fetched_at": key_set.fetched_at})
            redis_client().set(self._shared_key(url, "keys"), document)
        except CONNECTION_ERRORS:
            pass  # this process still has them
        logger.info("JWKS fetched", extra={"jwks_url": url, "keys": len(key_set.by_kid)})
        return key_set

    def clear_local(self) -> None:
        self._local.clear()
        self._last_attempt.clear()


jwks_cache = JWKSCache()
