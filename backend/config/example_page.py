"""The example SPA of ``frontend-contract/`` at ``/``, on the API's own origin, for ``make run``.

Only with ``DEBUG`` on: it signs in through the dev identity provider, which exists only then.
The build is committed (``frontend-contract/example/dist``), so a machine with only Python
serves it; ``backend/tests/test_example_page.py`` fails when it is older than its sources.
"""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.urls import path, re_path

DIST_DIR = Path(__file__).resolve().parents[2] / "frontend-contract" / "example" / "dist"


def _serve(file: Path, cache_control: str) -> FileResponse:
    if not settings.DEBUG or not file.is_file():
        raise Http404
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    response = FileResponse(file.open("rb"), content_type=content_type)
    response["Cache-Control"] = cache_control
    return response


def index(request):
    return _serve(DIST_DIR / "index.html", "no-cache")


def asset(request, name: str):
    # Vite names each asset after a hash of its content: a name never changes meaning.
    return _serve(DIST_DIR / "assets" / name, "public, max-age=31536000, immutable")


urlpatterns = [
    path("", index, name="example-page"),
    re_path(r"^assets/(?P<name>[A-Za-z0-9_-]+\.(?:js|css|svg|png|woff2))$", asset,
            name="example-asset"),
]
