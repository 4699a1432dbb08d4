"""Cleanup, metrics and the task lock on a Redis Cluster (three masters of the test's own)."""

import shutil
import subprocess
import tempfile
import time

import pytest
import redis
from redis.cluster import RedisCluster

from sessions_api import tasks
from sessions_api.maintenance import sessions_cleanup
from sessions_api.models import Account
from sessions_api.stats import auth_failures, session_metrics_collect
from sessions_api.store import session_store
from sessions_api.store.connection import reset_clients
from sessions_api.tokens import token_hash

from .support.servers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster_url():
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
            _wait(lambda port=port: redis.Redis(port=port).ping(),
                  what=lambda: [process.poll() for process in processes])
        subprocess.run(["redis-cli", "--cluster", "create",
                        *[f"127.0.0.1:{port}" for port in ports],
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=30)
        _wait(lambda: all(redis.Redis(port=port).cluster("info")["cluster_state"] == "ok"
                          for port in ports), what=lambda: [
                              redis.Redis(port=port).cluster("info") for port in ports])
        yield f"redis://127.0.0.1:{ports[0]}/0"
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait(condition, timeout: float = 15, what=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the Redis Cluster did not come up: {what()}")


@pytest.fixture
def on_cluster(cluster_url, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "REDIS_URL": cluster_url,
                             "REDIS_CLUSTER": True}
    reset_clients()
    client = RedisCluster.from_url(cluster_url, decode_responses=True)
    client.flushall()
    auth_failures.pending, auth_failures.flushed_at = 0, 0.0
    yield client
    client.close()
    reset_clients()


def test_cleanup_metrics_and_locks_work_on_a_cluster(api, on_cluster):
    assert isinstance(session_store.hot.client, RedisCluster)
    sessions = [api.create(f"auth0|user{n % 4}") for n in range(12)]
    hot = session_store.hot
    for created in sessions[:3]:  # evicted: their index entries are leftovers
        on_cluster.delete(hot.session_key(token_hash(created["token"])))
    api.current("sst_" + "B" * 43)
    auth_failures.flush()
    assert len({on_cluster.keyslot(hot.user_index_key(str(a.pk)))
                for a in Account.objects.all()}) > 1  # spread over several slots

    dry = sessions_cleanup(dry_run=True, batch_size=5)
    assert dry["index_entries_pruned"] == 3
    figures = session_metrics_collect()
    assert figures["redis_keys"] == 9
    assert figures["redis_memory_bytes"] > 0
    assert figures["failed_auth_last_hour"] == 1
    assert figures["active"] == 12

    assert tasks.cleanup_sessions.apply().result["index_entries_pruned"] == 3
    assert sessions_cleanup(dry_run=True, batch_size=5)["index_entries_pruned"] == 0
    assert tasks.metrics_snapshot.apply().result["redis_keys"] == 9
