"""django-cors-headers, asked only when a request carries an ``Origin`` header.

A browser sends ``Origin`` with every cross-origin request (and every preflight); a request
without one needs no CORS header, only the ``Vary: origin`` the library would add. Skipping
the library there saves building ``request.headers`` and matching its URL pattern on every
same-origin or server-to-server call, the hot path's included (docs/performance.md).
"""

from corsheaders.middleware import CorsMiddleware
from django.utils.cache import patch_vary_headers


class CorsForOriginsMiddleware(CorsMiddleware):
    def __call__(self, request):
        if self.async_mode or "HTTP_ORIGIN" in request.META:
            return super().__call__(request)
        response = self.get_response(request)
        patch_vary_headers(response, ("origin",))
        return response
