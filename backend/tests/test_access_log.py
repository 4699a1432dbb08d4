"""One access line per request, as ``make serve`` runs the service: gunicorn's own access log is
off (config/gunicorn.py) and the service's JSON line masks a token put in the URL."""

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings as django_settings

from .support.servers import free_port
from .support.web import BACKEND, GUNICORN, production_env

pytestmark = pytest.mark.slow

TOKEN = "sst_" + "T" * 43


def get(port: int, path: str, **headers) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def served_log(transactional_db, fake_auth0, tmp_path):
    """Everything gunicorn, started with make serve's configuration, writes to its stdout and
    stderr while the test makes its requests."""
    env = production_env(fake_auth0, redis_url=django_settings.SESSIONS_API["REDIS_URL"],
                         LOG_LEVEL="INFO")
    port = free_port()
    output = tmp_path / "output.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.py", "config.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=BACKEND, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, output.read_text()
        try:
            get(port, "/api/health/live/")
            break
        except OSError:
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.05)
    try:
        yield port, output
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def test_each_request_is_logged_once_and_a_token_in_the_url_never(served_log):
    port, output = served_log
    assert get(port, f"/api/health/live/?token={TOKEN}") == 200
    assert get(port, f"/api/sessions/{TOKEN}/", **{"X-Request-ID": "req-once"}) == 404
    time.sleep(0.2)  # the worker writes its line after the response
    text = output.read_text()
    assert TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    others = [line for line in text.splitlines() if not line.startswith("{")]
    assert not any("/api/" in line for line in others), others  # no second access log
    access = [line for line in lines if line["logger"] == "sessions_api.access"]
    mine = [line for line in access if line["request_id"] == "req-once"]
    assert [(line["path"], line["status"]) for line in mine] == [
        ("/api/sessions/[redacted]/", 404)]
    assert mine[0]["method"] == "GET" and mine[0]["duration_ms"] >= 0
    assert "session_id" in mine[0]
    # The start-up probe and this test's request, each once.
    assert len([line for line in access if line["path"] == "/api/health/live/"]) == 2


def test_make_serve_and_the_bench_run_gunicorn_with_this_configuration():
    makefile = (BACKEND.parent / "Makefile").read_text()
    serve = makefile[makefile.index("\nserve:"):].split("\n\n", 1)[0]
    assert "gunicorn -c config/gunicorn.py config.wsgi:application" in serve
    assert "--access-logfile" not in serve
    bench = (BACKEND.parent / "bench" / "servers.py").read_text()
    assert 'SERVE = ["-c", "config/gunicorn.py"]' in bench
