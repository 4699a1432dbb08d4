"""Every setting of the session app, read at call time through one object.

A value comes from the namespaced dict ``settings.SESSIONS_API`` first, then from the
environment variable of the same meaning (the names are the public contract), then from the
default. Each is resolved once per process and kept (the hot path reads several per request);
a change of ``SESSIONS_API`` or ``DEBUG`` (``override_settings``, the ``settings`` fixture)
sends ``setting_changed``, which forgets them all, like DRF's ``api_settings``.
"""

import os
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smh])\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600}


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_rate(raw: str) -> tuple[int, int]:
    """``"30/m"`` -> ``(30, 60)``: so many requests per so many seconds."""
    match = _RATE.match(raw)
    if not match:
        raise ImproperlyConfigured(f"invalid rate {raw!r}: expected N/s, N/m or N/h")
    return int(match.group(1)), _PERIODS[match.group(2)]


@dataclass(frozen=True)
class Setting:
    env: str | None
    default: Any
    parse: Any = str


SETTINGS: dict[str, Setting] = {
    "REDIS_URL": Setting("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "REDIS_CLUSTER": Setting("REDIS_CLUSTER", False, _bool),
    # host:port of each Redis Sentinel; the store follows the primary they name.
    "REDIS_SENTINELS": Setting("REDIS_SENTINELS", [], _list),
    "REDIS_SENTINEL_MASTER": Setting("REDIS_SENTINEL_MASTER", "mymaster"),
    # Short on purpose: a dead store must cost a request well under a second.
    "REDIS_CONNECT_TIMEOUT": Setting("SESSION_REDIS_CONNECT_TIMEOUT", 0.25, float),
    "REDIS_SOCKET_TIMEOUT": Setting("SESSION_REDIS_SOCKET_TIMEOUT", 0.5, float),
    "REDIS_KEY_PREFIX": Setting("SESSION_REDIS_KEY_PREFIX", "ss"),
    "BREAKER_COOLDOWN": Setting("SESSION_BREAKER_COOLDOWN", 2.0, float),
    "AUTH0_DOMAIN": Setting("AUTH0_DOMAIN", None),
    "AUTH0_AUDIENCE": Setting("AUTH0_AUDIENCE", None),
    "AUTH0_CLIENT_ID": Setting("AUTH0_CLIENT_ID", None),
    "AUTH0_ISSUER": Setting("AUTH0_ISSUER", None),
    "AUTH0_JWKS_URL": Setting("AUTH0_JWKS_URL", None),
    "AUTH0_USERINFO_URL": Setting("AUTH0_USERINFO_URL", None),
    "AUTH0_ALGORITHMS": Setting("AUTH0_ALGORITHMS", ["RS256"], _list),
    "JWKS_CACHE_SECONDS": Setting(None, 600, int),
    "JWKS_REFETCH_COOLDOWN": Setting(None, 30, int),
    "JWKS_FETCH_TIMEOUT": Setting(None, 3.0, float),
    "TOKEN_LEEWAY": Setting(None, 60, int),
    "USERINFO_TIMEOUT": Setting(None, 3.0, float),
    "IDLE_TIMEOUT": Setting("SESSION_IDLE_TIMEOUT", 28800, int),
    "ABSOLUTE_TIMEOUT": Setting("SESSION_ABSOLUTE_TIMEOUT", 86400, int),
    "MAX_PER_USER": Setting("SESSION_MAX_PER_USER", 10, int),
    "SELF_SERVE_PLANS": Setting("SELF_SERVE_PLANS", ["free"], _list),
    "CREATE_RATE_USER": Setting("SESSION_CREATE_RATE_USER", "30/m"),
    "CREATE_RATE_IP": Setting("SESSION_CREATE_RATE_IP", "300/m"),
    "STORE_FALLBACK": Setting("SESSION_STORE_FALLBACK", "postgres"),
    "SERVICE_API_TOKEN": Setting("SERVICE_API_TOKEN", None),
    # Webhooks: every audit event POSTed to WEBHOOK_URL, signed with WEBHOOK_SECRET (Standard
    # Webhooks, ``whsec_...``); both unset: none. Retried with backoff for WEBHOOK_RETRY_FOR s.
    "WEBHOOK_URL": Setting("SESSION_WEBHOOK_URL", None),
    "WEBHOOK_SECRET": Setting("SESSION_WEBHOOK_SECRET", None),
    "WEBHOOK_INCLUDE_CLIENT": Setting("SESSION_WEBHOOK_INCLUDE_CLIENT", False, _bool),
    "WEBHOOK_TIMEOUT": Setting("SESSION_WEBHOOK_TIMEOUT", 5.0, float),
    "WEBHOOK_RETRY_FOR": Setting("SESSION_WEBHOOK_RETRY_FOR", 86400, int),
    "WEBHOOK_SWEEP_INTERVAL": Setting("SESSION_WEBHOOK_SWEEP_INTERVAL", 5, int),
    # Proxies (addresses or networks) whose X-Forwarded-For is believed for the client IP.
    "TRUSTED_PROXIES": Setting("TRUSTED_PROXIES", [], _list),
    "MAX_BODY_BYTES": Setting(None, 16 * 1024, int),
    "MAX_DATA_BYTES": Setting(None, 4 * 1024, int),
    "MAX_JSON_DEPTH": Setting(None, 32, int),
    # Activity is written at most once per this many seconds per session (capped by a tenth
    # of the idle timeout so that short idle timeouts still slide precisely).
    "ACTIVITY_WRITE_INTERVAL": Setting(None, 60, int),
    "USER_FACTORY": Setting(None, "sessions_api.services.provisioning.create_host_user"),
    "DEV_KEY_PATH": Setting("SESSION_DEV_KEY_PATH", ".run/dev-identity-key.pem"),
    # Unset: the project's own settings.DEBUG.
    "DEBUG": Setting(None, False, _bool),
    # Operations: periodic tasks (seconds between runs), cleanup, metrics.
    "CLEANUP_INTERVAL": Setting("SESSION_CLEANUP_INTERVAL", 3600, int),
    "ACTIVITY_FLUSH_INTERVAL": Setting("SESSION_ACTIVITY_FLUSH_INTERVAL", 60, int),
    "OUTBOX_DRAIN_INTERVAL": Setting("SESSION_OUTBOX_DRAIN_INTERVAL", 60, int),
    "REPAIR_INTERVAL": Setting("SESSION_REPAIR_INTERVAL", 60, int),
    # Seconds within which a change recorded only in the audit copy reaches Redis: every
    # process checks this often (0: never in the background, only on recovery and by beat).
    "REPAIR_LAG": Setting("SESSION_REPAIR_LAG", 5.0, float),
    "METRICS_INTERVAL": Setting("SESSION_METRICS_INTERVAL", 60, int),
    "CLEANUP_BATCH_SIZE": Setting("SESSION_CLEANUP_BATCH_SIZE", 1000, int),
    # Audit rows are kept this many days after a session's absolute deadline; 0 keeps them.
    "AUDIT_RETENTION_DAYS": Setting("SESSION_AUDIT_RETENTION_DAYS", 90, int),
    # Keys measured with MEMORY USAGE per metrics run; the rest is extrapolated.
    "METRICS_MEMORY_SAMPLE": Setting(None, 2000, int),
    "METRICS_TOKEN": Setting("METRICS_TOKEN", None),
    # The event stream (GET /api/sessions/events/): open streams per session, and seconds
    # between heartbeats (each one re-checks the session).
    "EVENTS_MAX_STREAMS": Setting("SESSION_EVENTS_MAX_STREAMS", 3, int),
    "EVENTS_HEARTBEAT": Setting("SESSION_EVENTS_HEARTBEAT", 15.0, float),
}

DEV_ISSUER = "https://dev-identity.invalid/"
DEV_AUDIENCE = "https://session-service.dev/api"


class SessionSettings:
    def __init__(self):
        self._resolved: dict[str, Any] = {}

    def reload(self) -> None:
        self._resolved.clear()

    def __getattr__(self, name: str) -> Any:
        try:
            return self._resolved[name]
        except KeyError:
            pass
        try:
            spec = SETTINGS[name]
        except KeyError:
            raise AttributeError(name) from None
        value = self._resolve(name, spec)
        self._resolved[name] = value
        return value

    @staticmethod
    def _resolve(name: str, spec: Setting) -> Any:
        overrides = getattr(settings, "SESSIONS_API", {})
        if name in overrides:
            return overrides[name]
        if name == "DEBUG" and "DEBUG" not in overrides:
            return settings.DEBUG
        raw = os.environ.get(spec.env) if spec.env else None
        if raw is None or raw == "":
            return spec.default
        return spec.parse(raw)

    # Derived values: one place decides them.

    @property
    def dev_identity(self) -> bool:
        """The service is its own identity provider: debug mode with no Auth0 tenant."""
        return bool(self.DEBUG) and not self.AUTH0_DOMAIN

    @property
    def issuer(self) -> str:
        if self.dev_identity:
            return DEV_ISSUER
        if self.AUTH0_ISSUER:
            return self.AUTH0_ISSUER
        if not self.AUTH0_DOMAIN:
            raise ImproperlyConfigured("AUTH0_DOMAIN is not set")
        return f"https://{self.AUTH0_DOMAIN}/"

    @property
    def audience(self) -> str:
        if self.dev_identity:
            return self.AUTH0_AUDIENCE or DEV_AUDIENCE
        if not self.AUTH0_AUDIENCE:
            raise ImproperlyConfigured("AUTH0_AUDIENCE is required with AUTH0_DOMAIN")
        return self.AUTH0_AUDIENCE

    @property
    def jwks_url(self) -> str:
        return self.AUTH0_JWKS_URL or f"{self.issuer}.well-known/jwks.json"

    @property
    def userinfo_url(self) -> str:
        return self.AUTH0_USERINFO_URL or f"{self.issuer}userinfo"

    @property
    def activity_write_interval(self) -> float:
        return min(float(self.ACTIVITY_WRITE_INTERVAL), self.IDLE_TIMEOUT / 10)

    @property
    def webhooks_on(self) -> bool:
        return bool(self.WEBHOOK_URL and self.WEBHOOK_SECRET)


session_settings = SessionSettings()


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs):
    if setting in ("SESSIONS_API", "DEBUG"):
        session_settings.reload()
