"""Test settings: the real services on loopback.

Each test run uses its own PostgreSQL test database (``TEST_DB_NAME``) and each xdist worker its
own Redis database number (``TEST_REDIS_DB_BASE`` + worker index), so runs never flush what
they did not create.
"""

import os

_worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_redis_db = int(os.environ.get("TEST_REDIS_DB_BASE", "9")) + _worker
# Long and varied: with DJANGO_DEBUG off the settings refuse a short or placeholder key.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-Vq7mR2xK9pLw4ZtN8bYc3HsJ6dFg1AeU5oWi0nQ7r")
os.environ.setdefault("AUTH0_DOMAIN", "auth0.invalid")
os.environ.setdefault("AUTH0_AUDIENCE", "https://api.session-service.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{_redis_db}")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# Repairs run when a test asks for them, not from a background thread.
os.environ.setdefault("SESSION_REPAIR_LAG", "0")

from config.settings import *  # noqa: E402,F403

DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_sessions")}  # noqa: F405
