"""The ``/metrics`` URL, at the path hosts include; see ``api/urls.py``."""

from .api.urls import metrics_urlpatterns as urlpatterns

__all__ = ["urlpatterns"]
