"""Settings of the standalone service. The environment is read here, and only here."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from sessions_api.schedule import BEAT_SCHEDULE

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent
RUN_DIR = Path(os.environ.get("RUN_DIR") or REPO_DIR / ".run")  # `make run`'s files

# The secrets .env.example ships with: a deployment that kept one would run on a published
# value. Listed here because the image has no .env.example to read; tests/test_startup_secrets.py
# checks that every `change-me` value of .env.example is in the list.
PLACEHOLDER_SECRETS = frozenset({
    "change-me-to-a-long-random-string",
    "change-me-too",
    "change-me-service-token",
    "change-me-postgres-password",
    "change-me-redis-password",
})
CHECKED_SECRETS = ("DJANGO_SECRET_KEY", "METRICS_TOKEN", "SERVICE_API_TOKEN")


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _weakness(value: str) -> str | None:
    """Why a secret is unfit for production (Django's security.W009 rule, and placeholders)."""
    if value in PLACEHOLDER_SECRETS:
        return "is the placeholder from .env.example"
    if value.startswith("django-insecure-"):
        return "starts with 'django-insecure-' (a key made for development)"
    if len(value) < 50:
        return f"is {len(value)} characters long, fewer than 50"
    if len(set(value)) < 5:
        return "has fewer than 5 different characters"
    return None


DEBUG = os.environ.get("DJANGO_DEBUG", "0").strip().lower() in {"1", "true", "yes", "on"}

_missing = [name for name in ("DJANGO_SECRET_KEY", "AUTH0_DOMAIN") if not os.environ.get(name)]
if not DEBUG and _missing:
    raise ImproperlyConfigured(
        f"{' and '.join(_missing)} must be set when DJANGO_DEBUG is off "
        "(set DJANGO_DEBUG=1 for local development with the dev identity provider)."
    )
_weak = [f"{name} {problem}" for name in CHECKED_SECRETS
         if os.environ.get(name) and (problem := _weakness(os.environ[name]))]
if not DEBUG and _weak:
    raise ImproperlyConfigured(
        "; ".join(_weak) + ". With DJANGO_DEBUG off each must be a long random value: "
        "`make env` writes fresh ones to .env, or use "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "dev-only-insecure-secret-key"
ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS")
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",  # the admin's cookie login only; the API never uses it
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "accounts",
    "sessions_api",
]

MIDDLEWARE = [
    "sessions_api.api.middleware.RequestIdMiddleware",
    "sessions_api.api.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.cors.CorsForOriginsMiddleware",
    # Sessions, CSRF, auth, messages and X-Frame-Options, under /admin/ only: the API
    # authenticates by header (measured: docs/performance.md).
    "config.admin_middleware.AdminOnlyMiddleware",
]
# The admin's checks look for its middleware by name; it is there, wrapped.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if not os.environ.get("DATABASE_URL"):
    RUN_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{RUN_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A dead database must fail a request fast instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"connect_timeout": 2, "options": "-c statement_timeout=5000"}
    )

AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}

SESSIONS_API = {
    "REDIS_URL": REDIS_URL,
    "DEV_KEY_PATH": str(RUN_DIR / "dev-identity-key.pem"),
    "TRUSTED_PROXIES": _list("TRUSTED_PROXIES"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sessions_api.api.authentication.SessionTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["sessions_api.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "sessions_api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Session service",
    "DESCRIPTION": "Opaque server-side sessions for single-page apps signed in with Auth0.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "sessionAuth": {"type": "http", "scheme": "Session"},
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "serviceAuth": {"type": "http", "scheme": "Service"},
        }
    },
    "SECURITY": [{"sessionAuth": []}],
}

CORS_ALLOWED_ORIGINS = _list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_HEADERS = ["authorization", "content-type", "if-match", "if-none-match"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL
if not os.environ.get("CELERY_BROKER_URL") and _list("REDIS_SENTINELS"):
    # The broker follows the same primary as the store (kombu's Sentinel transport).
    _db = REDIS_URL.rsplit("/", 1)[-1] if REDIS_URL.count("/") > 2 else "0"
    CELERY_BROKER_URL = ";".join(f"sentinel://{node}/{_db}" for node in _list("REDIS_SENTINELS"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "master_name": os.environ.get("REDIS_SENTINEL_MASTER") or "mymaster"}
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the JSON logging below applies to workers too

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = RUN_DIR / "static"

SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# `make run` is read by a person: LOG_CONSOLE=readable prints one short line per request (and
# per event) instead of JSON, and stops runserver's own line for the same request; LOG_FILE
# keeps the JSON lines in a file.
LOG_CONSOLE = os.environ.get("LOG_CONSOLE", "json")
if LOG_CONSOLE not in {"json", "readable"}:
    raise ImproperlyConfigured(f"LOG_CONSOLE must be json or readable, not {LOG_CONSOLE!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "sessions_api.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "sessions_api.logging.JsonFormatter"},
        "readable": {"()": "config.logging.ReadableFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler", "filters": ["request_id"], "formatter": LOG_CONSOLE,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
if os.environ.get("LOG_FILE"):
    LOGGING["handlers"]["file"] = {
        "class": "logging.FileHandler", "filename": os.environ["LOG_FILE"], "delay": True,
        "filters": ["request_id"], "formatter": "json",
    }
    LOGGING["root"]["handlers"].append("file")
if LOG_CONSOLE == "readable":
    LOGGING["handlers"]["discard"] = {"class": "logging.NullHandler"}
    LOGGING["loggers"]["django.server"] = {"handlers": ["discard"], "propagate": False}
