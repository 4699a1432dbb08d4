"""Servers a test can break: a private redis-server, and a TCP proxy to cut PostgreSQL."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import redis


def wait_until(condition, timeout: float = 30, what=lambda: "") -> None:
    """Until ``condition()`` holds (a Redis error counts as not yet), or ``RuntimeError``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"not there within {timeout} s {what()}".strip())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own on a free loopback port: stop, start, flush at will."""

    def __init__(self, *extra_args: str):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="session-redis-")
        self.extra_args = list(extra_args)
        self.process = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """A restart without persistence: the data is gone."""
        self.stop()
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.dir, "dump.rdb"))
        self.start()

    def snapshot(self) -> None:
        """``BGSAVE``, returning once the RDB file is written."""
        client = self.client()
        deadline = time.monotonic() + 10

        def saving() -> bool:
            if time.monotonic() > deadline:
                raise RuntimeError("BGSAVE did not finish")
            time.sleep(0.01)
            return bool(client.info("persistence")["rdb_bgsave_in_progress"])

        while saving():  # a save of Redis's own (a replica's sync) must end first
            pass
        saves = client.info("persistence")["rdb_saves"]
        client.bgsave()
        while saving() or client.info("persistence")["rdb_saves"] == saves:
            pass

    def restart_from_snapshot(self) -> None:
        """What a crash and a restart with RDB persistence, a restore from backup, or a
        failover to a lagging replica all do: the data is the last snapshot's."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class TcpProxy:
    """Forwards a loopback port to another; ``cut()`` drops every connection and refuses new
    ones, like a server that went away; ``stall()`` makes it silent instead, like a network
    that drops packets; ``restore()`` lets traffic through again."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.stalled = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.stalled:
                with self.lock:
                    self.sockets.append(client)  # held open, never answered
                continue
            if not self.open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self):
        self.open = False
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                except OSError:
                    pass
            self.sockets.clear()

    def stall(self):
        """Like a host that went silent: connections are accepted and never answered."""
        self.cut()
        self.stalled = True

    def restore(self):
        self.open = True
        self.stalled = False

    def close(self):
        self.closed = True
        self.cut()
        self.listener.close()


class Sentinels:
    """Three redis-sentinel processes on free loopback ports watching ``primary_port`` as
    ``mymaster``, quick to decide (1 s down-after)."""

    master = "mymaster"

    def __init__(self, primary_port: int, count: int = 3):
        self.dir = tempfile.mkdtemp(prefix="session-sentinel-")
        self.ports = [free_port() for _ in range(count)]
        self.processes = []
        for port in self.ports:
            config = os.path.join(self.dir, f"sentinel-{port}.conf")
            with open(config, "w") as file:
                file.write(f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                           f"sentinel monitor {self.master} 127.0.0.1 {primary_port} 2\n"
                           f"sentinel down-after-milliseconds {self.master} 1000\n"
                           f"sentinel failover-timeout {self.master} 5000\n")
            self.processes.append(subprocess.Popen(
                ["redis-server", config, "--sentinel"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: all(
            self.client(port).sentinel_master(self.master)["num-other-sentinels"] == count - 1
            and self.client(port).sentinel_slaves(self.master) for port in self.ports))

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    @staticmethod
    def client(port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=2)

    def primary_port(self) -> int:
        return int(self.client(self.ports[0]).sentinel_get_master_addr_by_name(self.master)[1])

    def close(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
