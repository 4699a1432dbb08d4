"""The internal API's URLs, at the path hosts include; see ``api/urls.py``."""

from .api.urls import internal_urlpatterns as urlpatterns

app_name = "sessions_api_internal"

__all__ = ["app_name", "urlpatterns"]
