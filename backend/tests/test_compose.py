"""``Dockerfile``, ``docker-compose.yml`` and ``.env.example``, checked without docker: the image
is multi-stage on a slim base, runs as a user without privileges, installs the app's wheel
against ``constraints.txt`` and has a healthcheck; its entrypoint migrates only when asked;
every compose service has a healthcheck, reads its secrets from ``.env`` (never
``.env.example``) and mounts no part of the repository; the Redis persists its data."""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from sessions_api.conf import SETTINGS

REPO = Path(__file__).resolve().parents[2]
APPLICATION = {"web", "events", "worker", "beat"}
ENTRYPOINT = REPO / "scripts" / "docker-entrypoint.sh"


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def arguments(stage, instruction: str) -> list[str]:
    return [args for name, args in stage if name == instruction]


def entrypoint_roles() -> set[str]:
    return set(re.findall(r"^\s+([a-z]+)\)$", ENTRYPOINT.read_text(), re.MULTILINE))


def test_the_image_is_multi_stage_on_a_slim_base_and_runs_unprivileged():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    base = re.sub(r"\$\{PYTHON_VERSION\}", "3.12", arguments(final, "FROM")[0])
    assert re.fullmatch(r"python:3\.1\d-slim(-\w+)?", base), base
    users = arguments(final, "USER")
    # Numeric, so a runtime can verify it is not root (Kubernetes runAsNonRoot).
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), users
    uid = users[-1].split(":")[0]
    assert re.search(rf"useradd [^&]*--uid {uid}\b", " ".join(arguments(final, "RUN")))
    after_user = final[[name for name, _ in final].index("USER") + 1:]
    assert not [args for name, args in after_user if name == "RUN"], "RUN as root after USER"


def test_the_image_installs_the_app_wheel_against_the_constraints():
    build = " ".join(args for stage in dockerfile_stages()[:-1]
                     for args in arguments(stage, "RUN"))
    assert "pip wheel" in build and "/wheels/" in build
    assert "-c constraints.txt" in build
    assert re.search(r"pip install -c constraints\.txt [^&]*/wheels/\*\.whl[^&]*\[server\]", build)
    final = dockerfile_stages()[-1]
    assert any(args.startswith("--from=") and "/opt/venv" in args
               for args in arguments(final, "COPY"))
    copied = " ".join(arguments(final, "COPY"))
    assert "sessions_api" not in copied, "the app must come from its wheel, not the source tree"


def test_everything_the_dockerfile_copies_exists_and_is_not_docker_ignored():
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", ".git", ".venv", ".run"} <= ignored
    for stage in dockerfile_stages():
        for args in arguments(stage, "COPY"):
            if args.startswith("--from="):
                continue
            for source in [word for word in shlex.split(args) if not word.startswith("--")][:-1]:
                assert (REPO / source).exists(), source
                assert not any(source == pattern or source.startswith(pattern + "/")
                               for pattern in ignored), f"{source} is in .dockerignore"


def test_the_image_has_a_healthcheck_and_the_entrypoint_knows_the_roles():
    final = dockerfile_stages()[-1]
    healthcheck = arguments(final, "HEALTHCHECK")
    assert healthcheck and "healthcheck" in healthcheck[0]
    assert arguments(final, "ENTRYPOINT") == ['["docker-entrypoint"]']
    assert {"web", "events", "worker", "beat"} <= entrypoint_roles()


@pytest.fixture
def fake_commands(tmp_path):
    """python, gunicorn, uvicorn and celery that only record how they were called."""
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "gunicorn", "uvicorn", "celery"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\n')
        script.chmod(0o755)

    def run(*args, **env):
        calls.write_text("")
        result = subprocess.run(
            ["sh", str(ENTRYPOINT), *args], capture_output=True, text=True, timeout=10,
            env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
                 "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), **env})
        assert result.returncode == 0, result.stderr
        return calls.read_text().splitlines()
    return run


def test_the_entrypoint_migrates_only_when_asked(fake_commands):
    assert fake_commands("web") == [
        "gunicorn -c config/gunicorn.py config.wsgi:application --bind 0.0.0.0:8000 --workers 3 "
        "--forwarded-allow-ips 127.0.0.1"]
    assert (REPO / "backend" / "config" / "gunicorn.py").exists()  # the image copies config/
    assert fake_commands("web", MIGRATE="1")[0] == "python manage.py migrate --noinput"
    assert fake_commands("events") == [
        "uvicorn config.asgi:application --host 0.0.0.0 --port 8001 --no-access-log "
        "--lifespan off --timeout-graceful-shutdown 5 --proxy-headers "
        "--forwarded-allow-ips 127.0.0.1"]
    assert fake_commands("worker", "--concurrency", "2") == [
        "celery -A config worker --loglevel INFO --concurrency 2"]
    assert fake_commands("beat", MIGRATE="0")[0].startswith("celery -A config beat")
    healthcheck = "\n".join(fake_commands("healthcheck", MIGRATE="1"))
    assert healthcheck.startswith("python -c") and "/api/health/ready/" in healthcheck
    assert "migrate" not in healthcheck
    assert fake_commands("python", "manage.py", "cleanup_sessions") == [
        "python manage.py cleanup_sessions"]


def test_the_six_services_all_have_healthchecks():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "events", "worker", "beat"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name


def test_application_services_run_the_image_in_a_role_it_knows():
    services, roles = compose()["services"], entrypoint_roles()
    for name in APPLICATION:
        service = services[name]
        assert service["build"] == "." and (REPO / "Dockerfile").exists()
        assert service["image"] == services["web"]["image"]
        assert service["command"][0] in roles, f"{name}: {service['command']}"
    assert services["web"]["environment"]["MIGRATE"] == "1"
    assert all("MIGRATE" not in services[name].get("environment", {})
               for name in ("events", "worker", "beat"))


def test_secrets_come_from_env_never_from_env_example():
    services = compose()["services"]
    for name, service in services.items():
        env_files = service.get("env_file", [])
        env_files = [env_files] if isinstance(env_files, str) else env_files
        env_files = [f["path"] if isinstance(f, dict) else f for f in env_files]
        assert ".env.example" not in env_files, name
        if name in APPLICATION:
            assert env_files == [".env"]
    source = (REPO / "docker-compose.yml").read_text()
    assert "env_file: .env.example" not in source
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert f"${{{secret}:?" in source, f"{secret} must come from .env, required"
    for name in APPLICATION:
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://postgres:${POSTGRES_PASSWORD")
        assert environment["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")


def test_no_service_mounts_the_repository():
    document = compose()
    named = set(document.get("volumes") or {})
    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            assert source in named, f"{name} mounts {source!r}, not a named volume"


def test_the_redis_persists_like_production():
    redis = compose()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    save = re.search(r'--save "([^"]*)"', command)
    assert save and save.group(1).strip(), "RDB snapshots must be on"
    assert "--maxmemory-policy noeviction" in command
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "--requirepass" in command


def test_events_worker_and_beat_wait_for_the_migrated_web():
    services = compose()["services"]
    assert services["web"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                             "redis": {"condition": "service_healthy"}}
    for name in ("events", "worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_env_example_names_only_settings_the_service_reads():
    known = {setting.env for setting in SETTINGS.values() if setting.env}
    settings_source = (REPO / "backend/config/settings.py").read_text()
    makefile = (REPO / "Makefile").read_text()
    compose_source = (REPO / "docker-compose.yml").read_text()
    for name in env_example():
        assert (name in known or f'"{name}"' in settings_source or name in makefile
                or f"${{{name}" in compose_source), f"{name} is read by nothing"
    assert {"DJANGO_SECRET_KEY", "AUTH0_DOMAIN", "AUTH0_AUDIENCE", "DATABASE_URL", "REDIS_URL",
            "CELERY_BROKER_URL", "METRICS_TOKEN", "SESSION_AUDIT_RETENTION_DAYS",
            "POSTGRES_PASSWORD", "REDIS_PASSWORD"} <= set(env_example())
