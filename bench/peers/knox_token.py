"""django-rest-knox's ``TokenAuthentication`` (hashed tokens, its defaults) on a DRF view."""

from .base import *  # noqa: F403

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "knox"]

BENCH_VIEW = "bench.peers.views.knox_token"
