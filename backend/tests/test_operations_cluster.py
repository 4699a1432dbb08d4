"""Cleanup, metrics and the task lock on a Redis Cluster (three masters of the test's own)."""


import pytest
from redis.cluster import RedisCluster

from sessions_api import tasks
from sessions_api.models import Account
from sessions_api.ops.cleanup import sessions_cleanup
from sessions_api.ops.figures import auth_failures, session_metrics_collect
from sessions_api.store import session_store
from sessions_api.tokens import token_hash

pytestmark = pytest.mark.slow


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
