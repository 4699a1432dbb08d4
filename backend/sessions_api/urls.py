"""Include under ``api/sessions/``. Every path answers with and without its trailing slash."""

from django.urls import re_path

from . import apis

app_name = "sessions_api"

urlpatterns = [
    re_path(r"^create/?$", apis.SessionCreateApi.as_view(), name="create"),
    re_path(r"^current/?$", apis.SessionCurrentApi.as_view(), name="current"),
    re_path(r"^update/?$", apis.SessionUpdateApi.as_view(), name="update"),
    re_path(r"^logout/?$", apis.SessionLogoutApi.as_view(), name="logout"),
    re_path(r"", apis.not_found),
]
