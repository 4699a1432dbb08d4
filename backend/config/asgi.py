"""The ASGI entry point: ``make events`` serves the session event stream from it
(``GET /api/sessions/events/``, an async view), so open streams hold no web worker. Every other
path answers as under WSGI, but the proxy sends only the stream here (docs/operations.md)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_asgi_application()
