"""The dev identity provider's endpoints; they answer 404 unless it is active."""


from django.http import Http404, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from ..conf import session_settings
from ..errors import ApiError, problem_response
from ..strict_json import json_loads_strict
from .dev import dev_jwks, dev_token_mint


def _require_dev():
    if not session_settings.dev_identity:
        raise Http404


def jwks(request):
    _require_dev()
    return JsonResponse(dev_jwks())


@csrf_exempt
def access_token(request):
    """``POST {"sub", "email"?, "name"?}``: a signed access token, as Auth0 would issue."""
    _require_dev()
    if request.method != "POST":
        return problem_response(ApiError("method_not_allowed", "Use POST."))
    try:
        body = json_loads_strict(request.body or b"{}")
        if not isinstance(body, dict) or not isinstance(body.get("sub"), str) or not body["sub"]:
            raise ApiError("validation_error", "Give a non-empty 'sub'.",
                           errors={"sub": ["Required."]})
    except ApiError as error:
        return problem_response(error)
    token = dev_token_mint(sub=body["sub"], email=str(body.get("email") or ""),
                           name=str(body.get("name") or ""))
    response = JsonResponse({"access_token": token, "token_type": "Bearer"})
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    re_path(r"^\.well-known/jwks\.json$", jwks, name="dev-jwks"),
    re_path(r"^access-token/?$", access_token, name="dev-access-token"),
]

