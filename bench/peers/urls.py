"""One URL, ``/bench/``, served by the view the peer's settings name (``BENCH_VIEW``)."""

from django.conf import settings
from django.urls import path
from django.utils.module_loading import import_string

urlpatterns = [path("bench/", import_string(settings.BENCH_VIEW)())]
