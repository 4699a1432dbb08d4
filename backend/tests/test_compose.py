"""``docker-compose.yml`` and ``.env.example``, checked without docker: every service has a
healthcheck, the application services read ``.env.example`` and run commands that exist."""

import re
import shlex
from pathlib import Path

import yaml

from sessions_api.conf import SETTINGS

REPO = Path(__file__).resolve().parents[2]
APPLICATION = {"web", "worker", "beat"}


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (REPO / "Makefile").read_text(), re.MULTILINE))


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def test_the_five_services_all_have_healthchecks():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name


def test_application_services_run_commands_that_exist():
    services, targets = compose()["services"], make_targets()
    for name in APPLICATION:
        command = services[name]["command"]
        words = command if isinstance(command, list) else shlex.split(command)
        if words[0] == "make":
            assert words[1] in targets, f"{name}: no Makefile target {words[1]!r}"
        else:
            assert (REPO / words[0]).exists(), f"{name}: {words[0]} is not in the project"
    assert {"serve", "worker", "beat"} <= targets


def test_application_services_read_env_example_and_wait_for_their_stores():
    services = compose()["services"]
    for name in APPLICATION:
        assert services[name]["env_file"] == ".env.example"
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
    assert set(services["web"]["depends_on"]) == {"postgres", "redis"}
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_env_example_names_only_settings_the_service_reads():
    known = {setting.env for setting in SETTINGS.values() if setting.env}
    settings_source = (REPO / "backend/config/settings.py").read_text()
    makefile = (REPO / "Makefile").read_text()
    for name in env_example():
        assert name in known or f'"{name}"' in settings_source or name in makefile, (
            f"{name} is read by nothing")
    assert {"DJANGO_SECRET_KEY", "AUTH0_DOMAIN", "AUTH0_AUDIENCE", "DATABASE_URL", "REDIS_URL",
            "CELERY_BROKER_URL", "METRICS_TOKEN", "SESSION_AUDIT_RETENTION_DAYS"} <= set(
                env_example())
