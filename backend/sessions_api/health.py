"""The health checks' URLs, at the path hosts include; see ``api/urls.py``."""

from .api.urls import health_urlpatterns as urlpatterns

__all__ = ["urlpatterns"]
