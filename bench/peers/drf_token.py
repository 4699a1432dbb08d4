"""DRF's ``TokenAuthentication`` (``rest_framework.authtoken``) on a DRF view."""

from .base import *  # noqa: F403

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                  "rest_framework.authtoken"]

BENCH_VIEW = "bench.peers.views.drf_token"
