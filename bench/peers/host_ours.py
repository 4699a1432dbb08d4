"""A host project's DRF view authenticated by the session app's ``SessionTokenAuthentication``:
the app installed in a minimal project, none of the service's middleware. It reads the
sessions the service under test created (its database and Redis)."""

import os

import dj_database_url

from .base import *  # noqa: F403

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                  "accounts", "sessions_api"]
AUTH_USER_MODEL = "accounts.User"
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=600)}
SESSIONS_API = {"REDIS_URL": os.environ["REDIS_URL"]}

BENCH_VIEW = "bench.peers.views.host_ours"
