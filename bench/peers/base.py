"""What every peer project shares: the least a Django project needs to answer over HTTP.

The bench passes the peer's database and Redis in the environment (both its own).
"""

import os

import dj_database_url

SECRET_KEY = "bench-only-peer-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.peers.urls"
USE_TZ = True
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {}
if os.environ.get("BENCH_PEER_DATABASE_URL"):
    # Persistent connections, as a production project would configure them.
    DATABASES["default"] = dj_database_url.parse(os.environ["BENCH_PEER_DATABASE_URL"],
                                                 conn_max_age=600)

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        # The bench's own redis-server, never a shared one.
        "LOCATION": os.environ.get("BENCH_PEER_REDIS_URL") or os.environ["REDIS_URL"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
