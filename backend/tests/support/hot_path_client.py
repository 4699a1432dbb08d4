"""Django's test client with the service's hot path in front, as ``config.wsgi`` has it:
``GET /api/sessions/current/`` is answered by ``HotPath`` and everything else by Django's
cycle, so the tests that read sessions exercise the path production serves."""

from django.core.handlers.wsgi import WSGIRequest
from django.test import Client
from django.test.client import ClientHandler

from config.hot_path import HotPath


class HotPathClientHandler(ClientHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async)
        self.hot_path = HotPath()

    def __call__(self, environ):
        if self._middleware_chain is None:
            self.load_middleware()
        if not self.hot_path.serves(environ):
            return super().__call__(environ)
        request = WSGIRequest(environ)
        response = self.hot_path.respond(request)
        response.wsgi_request = request  # what the test client reads, as ClientHandler sets it
        return response


class HotPathClient(Client):
    def __init__(self, enforce_csrf_checks=False, **kwargs):
        super().__init__(enforce_csrf_checks, **kwargs)
        self.handler = HotPathClientHandler(enforce_csrf_checks)
