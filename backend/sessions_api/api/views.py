"""The SPA's endpoints. Thin: parse, call one service, shape the answer."""

import json

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from ..conf import session_settings
from ..errors import (
    ApiError,
    StoreUnavailable,
    exception_handler,
    problem_response,
    store_unavailable,
)
from ..models import RevokeReason
from ..selectors import session_list
from ..services import (
    SessionRef,
    session_create,
    session_refresh,
    session_revoke,
    session_revoke_own,
    session_update,
    sessions_logout_all,
)
from ..services.backchannel import backchannel_logout
from ..store.record import HotRecord, rfc3339
from . import schema
from .authentication import SessionTokenAuthentication, session_authenticate_request
from .caller import caller_of
from .parsers import StrictJSONParser
from .validation import body_check, tenant_id_parse, update_validate

CREATE_FIELDS = {"tenant_id"}


def session_response(record: HotRecord, *, status: int = 200, token: str | None = None):
    idle_ms = session_settings.IDLE_TIMEOUT * 1000
    body = record.to_json(idle_ms)
    if token is not None:
        expires_at = rfc3339(record.expires_at_ms(idle_ms))
        body = (f'{{"token":"{token}","token_type":"Session",'
                f'"expires_at":"{expires_at}","session":{body}}}')
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["ETag"] = record.etag  # create and refresh too, so If-Match works from the start
    return response


def current_get(request) -> HttpResponse:
    """The hot path: one Redis round trip, no SQL, no DRF machinery."""
    try:
        context = session_authenticate_request(request)
        if context is None:
            raise ApiError("session_missing", "This call needs Authorization: Session <token>.")
    except ApiError as error:
        return problem_response(error)
    except StoreUnavailable:
        return problem_response(store_unavailable())
    request.auth = context  # as DRF views have it: the access log names the session
    return session_response(context.record)


class SessionApiView(APIView):
    authentication_classes = [SessionTokenAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > session_settings.MAX_BODY_BYTES:
            raise ApiError("payload_too_large",
                           f"Bodies are limited to {session_settings.MAX_BODY_BYTES} bytes.")
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def get_exception_handler(self):
        # The app's endpoints keep their problem shape whatever handler a host project sets.
        return exception_handler

    def caller(self, request):
        return caller_of(request, f"user:{request.auth.record.account_id}")


class SessionCreateApi(SessionApiView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(**schema.CREATE)
    def post(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, access_token = header.partition(" ")
        if scheme.lower() != "bearer" or not access_token.strip():
            raise ApiError("token_missing", "This call needs Authorization: Bearer <access token>.")
        tenant_id = body_check(request.data, CREATE_FIELDS).get("tenant_id")
        tenant_id = tenant_id_parse(tenant_id) if tenant_id is not None else None
        token, record = session_create(access_token=access_token.strip(), tenant_id=tenant_id,
                                       caller=caller_of(request, "user"))
        return session_response(record, status=201, token=token)


class SessionCurrentApi(SessionApiView):
    def dispatch(self, request, *args, **kwargs):
        if request.method in ("GET", "HEAD"):
            return current_get(request)
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(**schema.CURRENT)
    def get(self, request):  # served by current_get; declared for the schema
        raise AssertionError("unreachable")

    @extend_schema(**schema.UPDATE)
    def patch(self, request):
        record = session_update(token_hash=request.auth.token_hash,
                                changes=update_validate(request.data),
                                if_match=request.META.get("HTTP_IF_MATCH"),
                                caller=self.caller(request))
        return session_response(record)

    @extend_schema(**schema.LOGOUT)
    def delete(self, request):
        record = request.auth.record
        ref = SessionRef(record.session_id, record.account_id, request.auth.token_hash,
                         record.absolute_deadline_ms)
        session_revoke(ref=ref, reason=RevokeReason.LOGOUT, caller=self.caller(request))
        return HttpResponse(status=204)


class SessionUpdateApi(SessionApiView):
    patch = SessionCurrentApi.patch


class SessionLogoutApi(SessionApiView):
    @extend_schema(**schema.LOGOUT)
    def post(self, request):
        return SessionCurrentApi.delete(self, request)


@csrf_exempt  # an unknown path is 404 for every method, never the CSRF middleware's 403 page
def not_found(request, *args, **kwargs):
    return problem_response(ApiError("not_found", "No such endpoint."))


def json_response(body, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


class SessionListApi(SessionApiView):
    @extend_schema(**schema.LIST)
    def get(self, request):
        return json_response(session_list(account_id=request.auth.record.account_id,
                                  current_session_id=request.auth.id))


class SessionDetailApi(SessionApiView):
    @extend_schema(**schema.REVOKE)
    def delete(self, request, session_id):
        session_revoke_own(account_id=request.auth.record.account_id, session_id=session_id,
                           caller=self.caller(request))
        return HttpResponse(status=204)


class SessionLogoutAllApi(SessionApiView):
    @extend_schema(**schema.LOGOUT_ALL)
    def post(self, request):
        body = body_check(request.data, {"include_current"})
        include_current = body.get("include_current", False)
        if type(include_current) is not bool:
            raise ApiError("validation_error", "include_current must be true or false.",
                           errors={"include_current": ["Must be true or false."]})
        revoked = sessions_logout_all(account_id=request.auth.record.account_id,
                                      current_session_id=request.auth.id,
                                      include_current=include_current,
                                      caller=self.caller(request))
        return json_response({"revoked": revoked})


class SessionRefreshApi(SessionApiView):
    @extend_schema(**schema.REFRESH)
    def post(self, request):
        body_check(request.data, set())
        token, record = session_refresh(token_hash=request.auth.token_hash,
                                        caller=self.caller(request))
        return session_response(record, token=token)


class BackchannelLogoutApi(SessionApiView):
    """The identity provider's call: form-encoded, authenticated by the logout token itself."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(**schema.BACKCHANNEL_LOGOUT)
    def post(self, request):
        tokens = request.data.getlist("logout_token") if hasattr(request.data, "getlist") else []
        if len(tokens) != 1 or not tokens[0]:
            raise ApiError("validation_error", "Send exactly one logout_token.",
                           errors={"logout_token": ["Required, once."]})
        revoked = backchannel_logout(logout_token=tokens[0],
                                     caller=caller_of(request, "identity_provider"))
        return json_response({"revoked": revoked})
