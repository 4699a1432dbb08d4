"""A DRF ``APIView`` with no authentication and no permission: DRF's own cost."""

from .base import *  # noqa: F403

BENCH_VIEW = "bench.peers.views.drf_bare"
