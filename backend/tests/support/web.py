"""The web service as ``make serve`` runs it (gunicorn, production settings), on a free
loopback port, against the test database and a Redis the test chooses."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection

from .servers import free_port

BACKEND = Path(__file__).resolve().parent.parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def production_env(fake_auth0, *, redis_url: str, database_port: int | None = None,
                   **extra: str) -> dict:
    database = connection.settings_dict
    port = database_port or database["PORT"] or 5432
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": django_settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "AUTH0_DOMAIN": "auth0.invalid",
        "AUTH0_ISSUER": fake_auth0.issuer,
        "AUTH0_AUDIENCE": fake_auth0.audience,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{port}"
                        f"/{database['NAME']}",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": "memory://",
        "SESSION_REPAIR_LAG": "5",
        **extra,
    }


class WebInstance:
    """gunicorn with ``workers`` sync workers. Calls that should reach every worker are
    repeated (gunicorn hands each new connection to whichever worker accepts it first)."""

    def __init__(self, env: dict, *, workers: int = 1):
        self.port = free_port()
        self.workers = workers
        self.process = subprocess.Popen(
            [str(GUNICORN), "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers)],
            cwd=BACKEND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait()

    def wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the instance exited at start-up"
            try:
                if self.call("GET", "/api/health/live/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the instance did not answer within 30 s")

    def call(self, method: str, path: str, *, auth: str | None = None, body=None,
             timeout: float = 10):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json",
                     **({"Authorization": auth} if auth else {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw or b"null")
            except ValueError:
                return error.code, raw.decode(errors="replace")[:200]

    def create(self, access_token: str, **body) -> str:
        status, answer = self.call("POST", "/api/sessions/create/",
                                   auth=f"Bearer {access_token}", body=body)
        assert status == 201, answer
        return answer["token"]

    def current(self, token: str):
        return self.call("GET", "/api/sessions/current/", auth=f"Session {token}")

    def logout(self, token: str) -> int:
        return self.call("DELETE", "/api/sessions/current/", auth=f"Session {token}")[0]

    def update(self, token: str, body: dict):
        return self.call("PATCH", "/api/sessions/update/", auth=f"Session {token}", body=body)

    def statuses(self, token: str, calls: int | None = None) -> set[int]:
        """``/current`` answered this many times, several at once so that every worker takes
        some (one sync worker answering them all would prove nothing of the others)."""
        count = calls or self.workers * 6
        with ThreadPoolExecutor(max_workers=self.workers * 2) as pool:
            return set(pool.map(lambda _: self.current(token)[0], range(count)))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
