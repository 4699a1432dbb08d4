"""The internal API (server to server): ``Authorization: Service <SERVICE_API_TOKEN>``.

With no ``SERVICE_API_TOKEN`` configured the whole API answers ``404``, as if it did not exist.
"""

import hmac

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny

from ..conf import session_settings
from ..errors import ApiError
from ..models import RevokeReason
from ..services import account_for_subject, account_sessions_revoke, account_subscription_set
from . import schema
from .caller import caller_of
from .validation import body_check
from .views import SessionApiView, json_response

SERVICE_WWW_AUTHENTICATE = 'Service realm="internal"'
SUBSCRIPTION_FIELDS = {"subscription_plan": 64, "subscription_status": 32}


def service_token_check(request) -> None:
    expected = session_settings.SERVICE_API_TOKEN
    if not expected:
        raise ApiError("not_found", "No such endpoint.")
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "service" or not hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), expected.encode()):
        raise ApiError("service_token_invalid", "This call needs Authorization: Service <token>.",
                       headers={"WWW-Authenticate": SERVICE_WWW_AUTHENTICATE})


class InternalApiView(SessionApiView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def initial(self, request, *args, **kwargs):
        service_token_check(request)
        super().initial(request, *args, **kwargs)

    def caller(self, request):
        return caller_of(request, "service")


class SubscriptionApi(InternalApiView):
    @extend_schema(**schema.INTERNAL_SUBSCRIPTION)
    def put(self, request, subject):
        body = body_check(request.data, set(SUBSCRIPTION_FIELDS))
        errors = {}
        for name, limit in SUBSCRIPTION_FIELDS.items():
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= limit):
                errors[name] = [f"Must be a non-empty string of at most {limit} characters."]
        if not any(body.get(name) is not None for name in SUBSCRIPTION_FIELDS) and not errors:
            errors["non_field_errors"] = ["Give subscription_plan, subscription_status or both."]
        if errors:
            raise ApiError("validation_error", "Some fields have invalid values.", errors=errors)
        account = account_subscription_set(subject=subject, plan=body.get("subscription_plan"),
                                           status=body.get("subscription_status"),
                                           caller=self.caller(request))
        return json_response({"auth0_sub": account.subject,
                      "subscription_plan": account.subscription_plan,
                      "subscription_status": account.subscription_status})


class RevokeSessionsApi(InternalApiView):
    @extend_schema(**schema.INTERNAL_REVOKE)
    def post(self, request, subject):
        body_check(request.data, set())
        account = account_for_subject(subject)
        revoked = account_sessions_revoke(account=account, reason=RevokeReason.SERVICE,
                                          caller=self.caller(request))
        return json_response({"revoked": revoked})
