"""Include under ``api/internal/``. Every path answers with and without its trailing slash."""

from django.urls import re_path

from . import apis, internal_apis

app_name = "sessions_api_internal"

urlpatterns = [
    re_path(r"^users/(?P<subject>[^/]{1,255})/subscription/?$",
            internal_apis.SubscriptionApi.as_view(), name="subscription"),
    re_path(r"^users/(?P<subject>[^/]{1,255})/revoke-sessions/?$",
            internal_apis.RevokeSessionsApi.as_view(), name="revoke-sessions"),
    re_path(r"", apis.not_found),
]
