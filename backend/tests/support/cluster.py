"""A real Redis Cluster for the tests that run the store on one."""

import contextlib
import shutil
import subprocess
import tempfile

import redis

from .servers import free_port, wait_until


@contextlib.contextmanager
def three_master_cluster():
    """A Redis Cluster of three masters on free loopback ports, removed afterwards; yields the
    seed node's URL."""
    workdir = tempfile.mkdtemp(prefix="session-cluster-")
    ports = [free_port() for _ in range(3)]
    # The bus port is given explicitly: the default (port + 10000) can be taken or past 65535.
    processes = [
        subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--cluster-port", str(free_port()), "--save", "", "--appendonly", "no",
                          "--cluster-enabled", "yes", "--cluster-config-file",
                          f"nodes-{port}.conf", "--dir", workdir],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in ports]
    try:
        for port in ports:
            wait_until(lambda port=port: redis.Redis(port=port).ping(),
                  what=lambda: [process.poll() for process in processes])
        subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"127.0.0.1:{port}" for port in ports],
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=30)
        wait_until(lambda: all(redis.Redis(port=port).cluster("info")["cluster_state"] == "ok"
                          for port in ports), what=lambda: [
                              redis.Redis(port=port).cluster("info") for port in ports])
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
