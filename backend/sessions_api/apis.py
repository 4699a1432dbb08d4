"""The views a host project's URL conf may name (``handler404``); they live in
``api/views.py``."""

from .api.views import SessionListApi, not_found

__all__ = ["SessionListApi", "not_found"]
