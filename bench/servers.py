"""The servers a benchmark run starts for itself and stops afterwards: a PostgreSQL database it
creates and drops, its own redis-server, a fake Auth0 tenant, and gunicorn instances (the
service's and the peers')."""

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
BACKEND = REPO / "backend"
sys.path.insert(0, str(BACKEND))

from tests.support.fake_auth0 import FakeAuth0  # noqa: E402
from tests.support.servers import RedisServer, free_port  # noqa: E402

ADMIN_DSN = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


@contextmanager
def database(name: str):
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_server():
    server = RedisServer()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def fake_auth0():
    server = FakeAuth0()
    try:
        yield server
    finally:
        server.close()


def service_env(*, database_url: str, redis_url: str, auth0: FakeAuth0) -> dict:
    """Production mode (``DJANGO_DEBUG=0``), configured only through the environment."""
    return {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{BACKEND}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "AUTH0_DOMAIN": "auth0.invalid",
        "AUTH0_ISSUER": auth0.issuer,
        "AUTH0_AUDIENCE": auth0.audience,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        # Every request of the load generator comes from 127.0.0.1: the per-IP create limit
        # would measure the limiter's refusals, not creates. The per-user limit stays.
        "SESSION_CREATE_RATE_IP": "1000000/s",
        "LOG_LEVEL": "INFO",
    }


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BACKEND,
                   env=env, check=True)


# ``make serve``'s gunicorn line (the Makefile), on a free loopback port. The peers run on the
# same line with their own application, so every row is served alike.
SERVE = ["-c", "config/gunicorn.py"]
PRODUCT_APP = "config.wsgi:application"
PEER_APP = "bench.peers.wsgi:application"


class Gunicorn:
    """gunicorn serving ``app`` (the service's, or a peer's with its settings in ``env``)."""

    def __init__(self, env: dict, *, app: str = PRODUCT_APP, workers: int = 3,
                 worker_class: str | None = None, probe: str = "/api/health/live/"):
        self.port = free_port()
        command = [str(REPO / ".venv/bin/gunicorn"), *SERVE, app,
                   "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                   "--forwarded-allow-ips", "127.0.0.1"]
        if worker_class:
            command += ["--worker-class", worker_class]
        self.process = subprocess.Popen(command, cwd=BACKEND, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(probe)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait(self, probe: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start-up; run `make serve` to see why")
            try:
                with urllib.request.urlopen(self.url + probe, timeout=1):  # noqa: S310
                    return
            except urllib.error.HTTPError:
                return  # it answers (a peer refuses a request without credentials)
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker processes have used so far."""
        tick = os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        total = 0
        for pid in children.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
