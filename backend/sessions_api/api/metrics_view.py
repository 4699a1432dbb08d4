"""``GET /metrics``: Prometheus text. With ``METRICS_TOKEN`` set, the scraper must send
``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus ``authorization`` /
``bearer_token`` config); without it the answer is ``401`` with ``WWW-Authenticate: Bearer``,
so a misconfigured scraper says why. Unset, the endpoint is open: keep it off the public
network (a proxy rule) or set the token."""

import hmac
import os

from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from ..conf import session_settings
from ..errors import ApiError, problem_response
from ..metrics import metrics_flush
from ..ops.figures import metrics_snapshot_read
from ..store import session_store
from ..store.audit import database_breaker

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}
BREAKER_STATES = ("closed", "open", "half_open")


class BreakerCollector:
    """``session_store_circuit_state{store, state}``: 1 for the state each breaker is in."""

    def collect(self):
        family = GaugeMetricFamily("session_store_circuit_state",
                                   "Circuit breaker of each store in this process.",
                                   labels=["store", "state"])
        for breaker in (session_store.redis_breaker, database_breaker):
            current = breaker.state
            for state in BREAKER_STATES:
                family.add_metric([breaker.name, state], 1.0 if state == current else 0.0)
        yield family


class SnapshotCollector:
    """The figures of the last metrics snapshot, one gauge each (``sessions_<figure>``)."""

    def collect(self):
        for name, value in sorted((metrics_snapshot_read() or {}).items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                yield GaugeMetricFamily(f"sessions_{name}", f"Snapshot figure {name}.", value=value)


_live = CollectorRegistry(auto_describe=False)
_live.register(BreakerCollector())
_live.register(SnapshotCollector())


def metrics_render() -> tuple[bytes, str]:
    """The Prometheus text exposition of this process (or of all workers, multiprocess)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_flush()  # this process's latest figures; the others' are at most a second old
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(_live), CONTENT_TYPE_LATEST


def _refusal(request) -> ApiError | None:
    if request.method not in {"GET", "HEAD"}:
        return ApiError("method_not_allowed", "Use GET.", headers={"Allow": "GET, HEAD"})
    expected = session_settings.METRICS_TOKEN
    if not expected:
        return None
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return ApiError("token_missing", "This call needs Authorization: Bearer <METRICS_TOKEN>.",
                        headers=CHALLENGE)
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return ApiError("token_invalid", "Wrong metrics token.", headers=CHALLENGE)
    return None


def metrics_view(request):
    refusal = _refusal(request)
    if refusal is not None:
        return problem_response(refusal)
    body, content_type = metrics_render()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response

