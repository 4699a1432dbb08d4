"""Start-up configuration: production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent
SECRET_KEY = "prod-like-kJ4nW8qZ2vX6rT0yB5mC9hL3sD7fG1pAe2Ru8Ni4Hx"  # 50+ characters, varied


def manage(*args, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in {"DJANGO_SECRET_KEY", "AUTH0_DOMAIN", "DJANGO_DEBUG",
                         "DJANGO_SETTINGS_MODULE", "AUTH0_AUDIENCE"}}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BACKEND, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env,missing", [
    ({}, "DJANGO_SECRET_KEY and AUTH0_DOMAIN"),
    ({"DJANGO_SECRET_KEY": SECRET_KEY}, "AUTH0_DOMAIN"),
    ({"AUTH0_DOMAIN": "example.eu.auth0.com"}, "DJANGO_SECRET_KEY"),
])
def test_production_refuses_to_start_without_its_secrets(env, missing):
    result = manage("check", DJANGO_DEBUG="0", **env)
    assert result.returncode == 2
    assert f"{missing} must be set when DJANGO_DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_starts_with_them():
    result = manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=SECRET_KEY,
                    AUTH0_DOMAIN="example.eu.auth0.com", AUTH0_AUDIENCE="https://api.example.com")
    assert result.returncode == 0, result.stderr


def test_auth0_domain_without_audience_is_a_check_error():
    result = manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=SECRET_KEY,
                    AUTH0_DOMAIN="example.eu.auth0.com")
    assert result.returncode != 0
    assert "AUTH0_AUDIENCE is required" in result.stderr


def test_dev_identity_provider_only_in_debug():
    dev = manage("dev_token", "--sub", "dev|alice", DJANGO_DEBUG="1")
    assert dev.returncode == 0 and dev.stdout.count(".") == 2
    prod = manage("dev_token", "--sub", "dev|alice", DJANGO_DEBUG="0",
                  DJANGO_SECRET_KEY=SECRET_KEY, AUTH0_DOMAIN="example.eu.auth0.com",
                  AUTH0_AUDIENCE="https://api.example.com")
    assert prod.returncode != 0
    assert "only with DJANGO_DEBUG=1" in prod.stderr
