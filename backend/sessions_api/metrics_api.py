"""``GET /metrics``: Prometheus text. With ``METRICS_TOKEN`` set, the scraper must send
``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus ``authorization`` /
``bearer_token`` config); without it the answer is ``401`` with ``WWW-Authenticate: Bearer``,
so a misconfigured scraper says why. Unset, the endpoint is open: keep it off the public
network (a proxy rule) or set the token."""

import hmac

from django.http import HttpResponse
from django.urls import re_path

from .conf import session_settings
from .errors import ApiError, problem_response
from .metrics import metrics_render

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"'}


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


urlpatterns = [re_path(r"^metrics/?$", metrics_view, name="metrics")]
