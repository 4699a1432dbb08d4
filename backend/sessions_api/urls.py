"""The SPA's URLs, at the path hosts include (``sessions_api.urls``); see ``api/urls.py``."""

from .api.urls import urlpatterns

app_name = "sessions_api"

__all__ = ["app_name", "urlpatterns"]
