"""The same cache sessions read by a plain Django view (no DRF): the least one Redis GET costs
in Django. A reference, like the bare views: the service is an API, measured against APIs."""

from .cache_sessions import *  # noqa: F403

BENCH_VIEW = "bench.peers.views.cache_sessions_plain"
