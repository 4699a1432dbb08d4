"""With DJANGO_DEBUG off, start-up refuses a secret that is a placeholder of .env.example,
short, or low in variety (Django's security.W009 rule), naming the variable; `make env`
writes secrets it accepts."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import PLACEHOLDER_SECRETS

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "backend"
_spec = importlib.util.spec_from_file_location("make_env", REPO / "scripts" / "make_env.py")
make_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_env)

GOOD = "prod-like-kJ4nW8qZ2vX6rT0yB5mC9hL3sD7fG1pAe2Ru8Ni4Hx"
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": GOOD,
              "AUTH0_DOMAIN": "example.eu.auth0.com", "AUTH0_AUDIENCE": "https://api.example.com"}
CHECKED = {"DJANGO_SECRET_KEY", "METRICS_TOKEN", "SERVICE_API_TOKEN"}


def manage(*args, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in CHECKED | {"DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "AUTH0_DOMAIN"}}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BACKEND,
                          env={**base, **env}, capture_output=True, text=True, timeout=60)


def example_placeholders() -> dict[str, str]:
    """Every `NAME=change-me…` of .env.example, commented-out examples included."""
    text = (REPO / ".env.example").read_text()
    return dict(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=(change-me\S*)", text, re.MULTILINE))


@pytest.mark.parametrize("name,value,message", [
    ("DJANGO_SECRET_KEY", "change-me-to-a-long-random-string",
     "DJANGO_SECRET_KEY is the placeholder from .env.example"),
    ("METRICS_TOKEN", "change-me-too", "METRICS_TOKEN is the placeholder from .env.example"),
    ("DJANGO_SECRET_KEY", "Zq8" * 16, "DJANGO_SECRET_KEY is 48 characters long, fewer than 50"),
    ("METRICS_TOKEN", "s3cret-metrics-token", "METRICS_TOKEN is 20 characters long, fewer than 50"),
    ("DJANGO_SECRET_KEY", "abcd" * 20, "DJANGO_SECRET_KEY has fewer than 5 different characters"),
    ("DJANGO_SECRET_KEY", "django-insecure-" + GOOD,
     "DJANGO_SECRET_KEY starts with 'django-insecure-' (a key made for development)"),
    ("SERVICE_API_TOKEN", "change-me-service-token",
     "SERVICE_API_TOKEN is the placeholder from .env.example"),
])
def test_production_refuses_a_weak_secret_naming_it(name, value, message):
    result = manage("check", **{**PRODUCTION, name: value})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "make env" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_weak_secret_is_named_at_once():
    result = manage("check", **{**PRODUCTION, "DJANGO_SECRET_KEY": "change-me-too",
                                "METRICS_TOKEN": "short"})
    assert result.returncode == 2
    assert ("DJANGO_SECRET_KEY is the placeholder from .env.example; "
            "METRICS_TOKEN is 5 characters long, fewer than 50.") in result.stderr


def test_debug_runs_on_placeholders():
    result = manage("check", DJANGO_DEBUG="1",
                    DJANGO_SECRET_KEY="change-me-to-a-long-random-string",
                    METRICS_TOKEN="change-me-too")
    assert result.returncode == 0, result.stderr


def test_every_placeholder_of_env_example_is_known():
    placeholders = example_placeholders()
    assert {"DJANGO_SECRET_KEY", "METRICS_TOKEN"} <= set(placeholders)
    assert set(placeholders.values()) <= PLACEHOLDER_SECRETS


def test_make_env_replaces_every_placeholder_with_a_secret_production_accepts(tmp_path):
    target = tmp_path / ".env"
    assert make_env.main(target) == 0
    written = dict(line.split("=", 1) for line in target.read_text().splitlines()
                   if line and not line.startswith("#"))
    assert target.stat().st_mode & 0o077 == 0
    for name in example_placeholders():
        if name in written:
            assert written[name] not in PLACEHOLDER_SECRETS and len(written[name]) >= 50
    result = manage("check", **{**PRODUCTION, "DJANGO_SECRET_KEY": written["DJANGO_SECRET_KEY"],
                                "METRICS_TOKEN": written["METRICS_TOKEN"]})
    assert result.returncode == 0, result.stderr


def test_make_env_never_overwrites_an_env(tmp_path):
    target = tmp_path / ".env"
    target.write_text("DJANGO_SECRET_KEY=mine\n")
    assert make_env.main(target) == 0
    assert target.read_text() == "DJANGO_SECRET_KEY=mine\n"
