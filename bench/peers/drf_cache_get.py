"""A DRF view making one django-redis ``cache.get`` keyed by the bearer token: the naive
one-lookup session check a team could write in ten lines."""

from .base import *  # noqa: F403

BENCH_VIEW = "bench.peers.views.drf_cache_get"
