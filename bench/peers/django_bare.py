"""The baseline: a plain Django view returning ``JsonResponse``; no apps, no middleware."""

from .base import *  # noqa: F403

BENCH_VIEW = "bench.peers.views.django_bare"
