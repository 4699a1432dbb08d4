"""DRF's ``SessionAuthentication`` over Django's cache sessions on django-redis: a host's DRF
view behind the cookie login Django ships (the session from Redis, the user from the
database)."""

from .base import *  # noqa: F403

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth",
                  "django.contrib.sessions", "rest_framework"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware"]
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

BENCH_VIEW = "bench.peers.views.drf_cache_sessions"
