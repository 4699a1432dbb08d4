"""Sets the host project up and imports every module of the session app, then prints which
top-level packages ended up loaded (run through run.py by the main suite)."""

import importlib
import json
import pkgutil
import sys

import django

django.setup()

import sessions_api  # noqa: E402

imported = ["hostsite.urls", "hostsite.celery"]
for module in imported:
    importlib.import_module(module)
for info in pkgutil.walk_packages(sessions_api.__path__, "sessions_api."):
    importlib.import_module(info.name)
    imported.append(info.name)

print(json.dumps({
    "imported": imported,
    "loaded": sorted({name.partition(".")[0] for name in sys.modules}),
    "app_file": sessions_api.__file__,
}))
