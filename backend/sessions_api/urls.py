"""Include under ``api/sessions/``. Every path answers with and without its trailing slash."""

from django.urls import re_path

from . import apis

app_name = "sessions_api"

urlpatterns = [
    re_path(r"^create/?$", apis.SessionCreateApi.as_view(), name="create"),
    re_path(r"^current/?$", apis.SessionCurrentApi.as_view(), name="current"),
    re_path(r"^update/?$", apis.SessionUpdateApi.as_view(), name="update"),
    re_path(r"^logout/?$", apis.SessionLogoutApi.as_view(), name="logout"),
    re_path(r"^$", apis.SessionListApi.as_view(), name="list"),
    re_path(r"^logout-all/?$", apis.SessionLogoutAllApi.as_view(), name="logout-all"),
    re_path(r"^refresh/?$", apis.SessionRefreshApi.as_view(), name="refresh"),
    re_path(r"^backchannel-logout/?$", apis.BackchannelLogoutApi.as_view(),
            name="backchannel-logout"),
    re_path(r"^(?P<session_id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
            r"[0-9a-fA-F]{12})/?$", apis.SessionDetailApi.as_view(), name="detail"),
    re_path(r"", apis.not_found),
]
