"""``GET /api/sessions/current/`` answered in front of Django's request cycle.

Every SPA asks ``/current`` on every route change, so it is the service's hot path. Through
Django's whole cycle it pays for five middlewares, the URL resolver walking the project's
URLconf, DRF's view dispatch and the request signals (``request_started``/``_finished``: the
database connections, caches and URLconf are looked over twice per request) before its one
Redis round trip: together about a third of its CPU (docs/performance.md).

``HotPath`` answers it with the view itself (``current_get``) and applies what the stack
would, in the stack's order: the request id and the one access-log line
(``RequestIdMiddleware``), the request metrics (``MetricsMiddleware``), ``SecurityMiddleware``
(its redirect and headers) and the ``Vary: origin`` of an origin-less request
(``CorsForOriginsMiddleware``). A request with an ``Origin`` header (CORS), any other method
or path goes through Django's cycle unchanged.

Without the request signals nothing is lost: the hot path opens no database connection of its
own, and when it reads PostgreSQL (Redis down, or a restore) the store drops a connection that
failed (``store/audit.py``); the next request through Django's cycle looks over the rest.
``test_hot_path.py`` checks that both routes answer alike; the real-process tests (gunicorn,
several workers) go through it too.
"""

import time

from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.middleware.security import SecurityMiddleware
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.cache import patch_vary_headers
from django.utils.log import log_response

from sessions_api.api.middleware import request_answered, request_count, request_id_of
from sessions_api.api.views import SessionCurrentApi, current_get
from sessions_api.logging import request_id_var

HOT_VIEW = "sessions_api:current"


def _unused(request):
    raise AssertionError("the hot path calls SecurityMiddleware's hooks, not its chain")


class HotPath:
    """Which requests are the hot path's, and their answer. Built when the middleware stack
    is, so it reads the ``SECURE_*`` settings when the stack's ``SecurityMiddleware`` does."""

    def __init__(self):
        self.security = SecurityMiddleware(_unused)
        self.match, self.paths = None, frozenset()
        try:
            path = reverse(HOT_VIEW).rstrip("/")
        except NoReverseMatch:  # a URLconf without the app: everything goes through Django
            return
        match = resolve(path)
        if getattr(match.func, "view_class", None) is SessionCurrentApi:
            # Every path answers with and without its trailing slash.
            self.match, self.paths = match, frozenset({path, f"{path}/"})

    def serves(self, environ: dict) -> bool:
        return (environ.get("PATH_INFO") in self.paths and environ["REQUEST_METHOD"] == "GET"
                and "HTTP_ORIGIN" not in environ)

    def respond(self, request):
        request_id = request_id_of(request)
        reset = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            try:
                response = self.security.process_request(request) or current_get(request)
            except Exception as error:  # as Django's handler turns it into a response
                response = response_for_exception(request, error)
            response = self.security.process_response(request, response)
            patch_vary_headers(response, ("origin",))
            request_count(request, response, time.perf_counter() - started, self.match)
            request_answered(request, response, request_id, started)
        finally:
            request_id_var.reset(reset)
        if response.status_code >= 400:  # as Django's handler logs it (django.request)
            log_response("%s: %s", response.reason_phrase, request.path, response=response,
                         request=request)
        return response


class HotPathWSGIHandler(WSGIHandler):
    """The service's WSGI application (``config.wsgi.application``): Django's, with the hot
    path answered first."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        self.hot_path = HotPath()

    def __call__(self, environ, start_response):
        if not self.hot_path.serves(environ):
            return super().__call__(environ, start_response)
        response = self.hot_path.respond(WSGIRequest(environ))
        start_response(f"{response.status_code} {response.reason_phrase}", [
            *response.items(),
            *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
        ])
        return [response.content]
