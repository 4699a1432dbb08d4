"""OpenAPI descriptions of the public endpoints (drf-spectacular), kept apart from the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from ..errors import CODES, PROBLEM_CONTENT_TYPE, TYPE_BASE


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    auth0_sub = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)


class TenantSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=["owner", "admin", "member"])


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Public session id (never the token).")
    user = UserSerializer()
    tenant = TenantSerializer(allow_null=True)
    needs_onboarding = serializers.BooleanField()
    onboarding_completed = serializers.BooleanField()
    subscription_plan = serializers.CharField()
    subscription_status = serializers.CharField()
    data = serializers.DictField(help_text="The SPA's own state for this session (<= 4 KB).")
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(
        help_text="The earlier of the idle and absolute deadlines.")


class SessionCreateSerializer(serializers.Serializer):
    tenant_id = serializers.UUIDField(required=False, allow_null=True)


class SessionCreatedSerializer(serializers.Serializer):
    token = serializers.RegexField(r"^sst_[A-Za-z0-9_-]{43}$")
    token_type = serializers.ChoiceField(choices=["Session"])
    expires_at = serializers.DateTimeField()
    session = SessionSerializer()


class SessionUpdateSerializer(serializers.Serializer):
    needs_onboarding = serializers.BooleanField(required=False)
    onboarding_completed = serializers.BooleanField(required=False)
    subscription_plan = serializers.CharField(required=False, help_text="Only a self-serve plan.")
    tenant_id = serializers.UUIDField(required=False, allow_null=True)
    data = serializers.DictField(required=False)


class ProblemSerializer(serializers.Serializer):
    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=sorted(CODES))
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   required=False)


def problem(*codes: str) -> OpenApiResponse:
    examples = []
    for code in codes:
        status, title = CODES[code]
        value = {"type": TYPE_BASE + code, "title": title, "status": status,
                 "detail": title + ".", "code": code}
        if code == "validation_error":
            value["errors"] = {"needs_onboarding": ["Must be true or false."]}
        examples.append(OpenApiExample(code, value=value, media_type="application/problem+json"))
    return OpenApiResponse(ProblemSerializer, description=", ".join(codes), examples=examples)


def responses(success: dict, *codes: str) -> dict:
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(CODES[code][0], []).append(code)
    return {**success, **{(status, PROBLEM_CONTENT_TYPE): problem(*group)
                          for status, group in sorted(by_status.items())}}


SESSION_AUTH = ("session_missing", "session_invalid", "session_expired", "session_revoked",
                "store_unavailable")
BODY = ("validation_error", "payload_too_large", "unsupported_media_type")

ETAG = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201],
    description="The session's version: send it back as If-Match with an update.")

CREATE = {
    "operation_id": "session_create",
    "summary": "Exchange an Auth0 access token (Authorization: Bearer) for a session.",
    "request": SessionCreateSerializer,
    "auth": [{"bearerAuth": []}],
    "parameters": [ETAG],
    "responses": responses(
        {201: SessionCreatedSerializer}, "token_missing", "token_invalid", "token_expired",
        *BODY, "unknown_field", "not_found", "rate_limited", "store_unavailable",
        "identity_provider_unavailable"),
}
CURRENT = {
    "operation_id": "session_current",
    "summary": "The current session; counts as activity.",
    "parameters": [ETAG],
    "responses": responses({200: SessionSerializer}, *SESSION_AUTH),
}
UPDATE = {
    "operation_id": "session_update",
    "summary": "Change client-writable fields, all or nothing.",
    "request": SessionUpdateSerializer,
    "parameters": [OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                    description="ETag of /current; 412 when the session changed."),
                   ETAG],
    "responses": responses({200: SessionSerializer}, *SESSION_AUTH, *BODY, "unknown_field",
                           "field_not_writable", "not_found", "precondition_failed"),
}
LOGOUT = {
    "operation_id": "session_logout",
    "summary": "End this session; the token is dead at once everywhere.",
    "request": None,
    "responses": responses({204: None}, *SESSION_AUTH),
}


class SessionSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField(allow_blank=True)
    device = serializers.CharField(help_text='Parsed from the user agent, e.g. "Chrome on macOS".')
    current = serializers.BooleanField(help_text="The session making this call.")


class LogoutAllSerializer(serializers.Serializer):
    include_current = serializers.BooleanField(required=False, default=False)


class RevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(min_value=0)


class EmptyBodySerializer(serializers.Serializer):
    pass


class BackchannelLogoutSerializer(serializers.Serializer):
    logout_token = serializers.CharField(help_text="The identity provider's signed logout token.")


class SubscriptionChangeSerializer(serializers.Serializer):
    subscription_plan = serializers.CharField(required=False, max_length=64)
    subscription_status = serializers.CharField(required=False, max_length=32)


class SubscriptionSerializer(serializers.Serializer):
    auth0_sub = serializers.CharField()
    subscription_plan = serializers.CharField()
    subscription_status = serializers.CharField()


LIST = {
    "operation_id": "session_list",
    "summary": "The user's live sessions, newest first.",
    "responses": responses({200: SessionSummarySerializer(many=True)}, *SESSION_AUTH),
}
REVOKE = {
    "operation_id": "session_revoke",
    "summary": "Revoke one of the user's own sessions (404 for anyone else's).",
    "request": None,
    "responses": responses({204: None}, *SESSION_AUTH, "not_found"),
}
LOGOUT_ALL = {
    "operation_id": "session_logout_all",
    "summary": "Revoke the user's other sessions (and this one with include_current).",
    "request": LogoutAllSerializer,
    "responses": responses({200: RevokedSerializer}, *SESSION_AUTH, *BODY, "unknown_field"),
}
REFRESH = {
    "operation_id": "session_refresh",
    "summary": "Rotate the token: the old one is dead at once; the absolute expiry does not move.",
    "request": None,
    "parameters": [ETAG],
    "responses": responses({200: SessionCreatedSerializer}, *SESSION_AUTH, *BODY,
                           "unknown_field"),
}
BACKCHANNEL_LOGOUT = {
    "operation_id": "session_backchannel_logout",
    "summary": "OpenID Connect Back-Channel Logout: the identity provider ends sessions.",
    "request": {"application/x-www-form-urlencoded": BackchannelLogoutSerializer},
    "auth": [],
    "responses": responses({200: RevokedSerializer}, "validation_error", "not_found",
                           "payload_too_large", "unsupported_media_type", "store_unavailable",
                           "identity_provider_unavailable"),
}
_SERVICE_AUTH = ("service_token_invalid", "not_found", "store_unavailable")
INTERNAL_SUBSCRIPTION = {
    "operation_id": "internal_subscription_set",
    "summary": "Set a user's plan and status; every live session shows it on its next call.",
    "request": SubscriptionChangeSerializer,
    "auth": [{"serviceAuth": []}],
    "responses": responses({200: SubscriptionSerializer}, *_SERVICE_AUTH, *BODY,
                           "unknown_field"),
}
INTERNAL_REVOKE = {
    "operation_id": "internal_sessions_revoke",
    "summary": "Revoke every live session of a user.",
    "request": None,
    "auth": [{"serviceAuth": []}],
    "responses": responses({200: RevokedSerializer}, *_SERVICE_AUTH, *BODY, "unknown_field"),
}
