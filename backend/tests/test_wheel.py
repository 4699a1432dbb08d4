"""The installable app: the wheel holds ``sessions_api`` and nothing of the standalone project,
and it installs into a fresh virtualenv where the app imports and Django starts with it.

The build runs on a copy of the tree (so concurrent edits and build leftovers stay out of the
working tree). The fresh virtualenv sees the project venv's packages through a ``.pth`` file
(offline, and without the editable install that puts ``backend/`` on the path); pip then
resolves the wheel's declared dependencies against ``constraints.txt`` with ``--no-index``,
so a dependency the wheel needs but does not declare, or declares but cannot get, fails here.
"""

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "backend" / "sessions_api"

SETUP = """
import importlib.util, json
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "rest_framework",
                    "sessions_api"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SESSIONS_API={"AUTH0_DOMAIN": "example.eu.auth0.com",
                  "AUTH0_AUDIENCE": "https://api.example.com"},
    USE_TZ=True,
)
django.setup()
import sessions_api, sessions_api.urls, sessions_api.tasks, sessions_api.api.authentication
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader
call_command("check")
loader = MigrationLoader(None, ignore_no_migrations=True)
print(json.dumps({
    "file": sessions_api.__file__,
    "migrations": sorted(n for app, n in loader.disk_migrations if app == "sessions_api"),
    "standalone": [n for n in ("config", "accounts") if importlib.util.find_spec(n)],
}))
"""


def run(*args, cwd) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


def app_files() -> set[str]:
    return {path.relative_to(APP.parent).as_posix() for path in APP.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(REPO / "backend", source / "backend",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    run(sys.executable, "-m", "build", "--wheel", "--outdir", source / "dist", source, cwd=source)
    (built,) = (source / "dist").glob("*.whl")
    return built


def test_the_wheel_holds_the_app_and_nothing_else(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    top_level = {name.split("/")[0] for name in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"sessions_api"}
    assert app_files() <= names  # every module, migration and data file of the app
    assert "sessions_api/migrations/0001_initial.py" in names


def test_the_wheel_declares_every_dependency(wheel):
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
    required = set(re.findall(r"^Requires-Dist: ([A-Za-z0-9_.\[\],-]+)", metadata, re.MULTILINE))
    assert {re.split(r"[<>=!~ ]", d)[0] for d in declared} <= required


def test_the_wheel_installs_into_a_fresh_virtualenv_and_django_starts(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                  cwd=tmp_path).stdout.strip()
    (Path(purelib) / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python,
           "install", "--quiet")
    run(*pip, "--no-deps", wheel, cwd=tmp_path)
    run(*pip, "--no-index", "-c", REPO / "constraints.txt", wheel, cwd=tmp_path)
    report = json.loads(run(python, "-c", SETUP, cwd=tmp_path).stdout.strip().splitlines()[-1])
    assert Path(report["file"]).is_relative_to(venv)
    assert report["migrations"][:2] == ["0001_initial", "0002_events_append_only"]
    assert report["standalone"] == []
