"""The middleware, at the paths hosts configure; it lives in ``api/middleware.py``."""

from .api.middleware import MetricsMiddleware, RequestIdMiddleware

__all__ = ["MetricsMiddleware", "RequestIdMiddleware"]
