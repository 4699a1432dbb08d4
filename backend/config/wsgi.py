import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # as get_wsgi_application() does

from config.hot_path import HotPathWSGIHandler  # noqa: E402  (needs the apps loaded)

# Django's WSGI handler, answering GET /api/sessions/current/ in front of its request cycle.
application = HotPathWSGIHandler()
