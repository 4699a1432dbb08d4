"""The admin's middleware, only for the admin.

Cookie sessions, CSRF, ``request.user``, messages and ``X-Frame-Options`` serve the admin's
HTML pages. The API authenticates by header and needs none of them, so every other request
skips them (measured: see docs/performance.md).
"""

from django.urls import reverse
from django.utils.module_loading import import_string

ADMIN_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


class AdminOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.admin = get_response
        self.view_hooks = []
        for path in reversed(ADMIN_MIDDLEWARE):
            self.admin = import_string(path)(self.admin)
            if hasattr(self.admin, "process_view"):
                self.view_hooks.insert(0, self.admin.process_view)
        self._prefix = None

    def is_admin(self, request) -> bool:
        if self._prefix is None:
            self._prefix = reverse("admin:index")
        return request.path_info.startswith(self._prefix)

    def __call__(self, request):
        return self.admin(request) if self.is_admin(request) else self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Django calls view hooks on the outer list only: CSRF checks the admin's forms here."""
        if self.is_admin(request):
            for hook in self.view_hooks:
                response = hook(request, view_func, view_args, view_kwargs)
                if response is not None:
                    return response
        return None
