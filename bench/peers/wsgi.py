"""The peers' WSGI application; ``DJANGO_SETTINGS_MODULE`` names the peer."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
