"""Django's cache session backend on django-redis: a DRF view reading ``request.session``
(one Redis GET per request, nothing written back)."""

from .base import *  # noqa: F403

INSTALLED_APPS = ["django.contrib.sessions"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
SESSION_ENGINE = "django.contrib.sessions.backends.cache"

BENCH_VIEW = "bench.peers.views.cache_sessions"
