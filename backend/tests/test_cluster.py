"""The store unchanged on a Redis Cluster (``REDIS_CLUSTER=1``): the whole session lifecycle,
revoke-all, eviction past the per-user limit, rotation and the activity flush, with every key
one operation touches in one slot (a cross-slot call would fail with ``CROSSSLOT``)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from redis.cluster import RedisCluster

from sessions_api.models import Account, Session
from sessions_api.ops.activity import activity_flush
from sessions_api.store import session_store
from sessions_api.tokens import token_hash

pytestmark = pytest.mark.slow


def later(seconds: float):
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False)


def test_the_session_lifecycle_runs_on_a_cluster(api, on_cluster):
    assert isinstance(session_store.hot.client, RedisCluster)
    hot = session_store.hot
    created = api.create("auth0|ann")
    token = created["token"]
    key = hot.session_key(token_hash(token))
    assert on_cluster.exists(key)

    assert api.current(token).json()["id"] == created["session"]["id"]
    updated = api.update(token, {"onboarding_completed": True, "data": {"step": 2}})
    assert updated.status_code == 200, updated.content
    assert api.current(token).json()["data"] == {"step": 2}

    on_cluster.delete(key)  # the cluster lost it: restored from the audit copy
    restored = api.current(token)
    assert restored.status_code == 200
    assert restored.json()["onboarding_completed"] is True

    refreshed = api.call("POST", "/api/sessions/refresh/", session=token, body={})
    assert refreshed.status_code == 200, refreshed.content
    new_token = refreshed.json()["token"]
    assert api.current(token).json()["code"] == "session_revoked"
    assert api.current(new_token).status_code == 200

    assert api.logout(new_token).status_code == 204
    assert api.current(new_token).json()["code"] == "session_revoked"
    on_cluster.delete(hot.session_key(token_hash(new_token)))
    assert api.current(new_token).json()["code"] == "session_revoked"  # never restored


def test_revoke_all_and_the_per_user_limit_on_a_cluster(api, on_cluster, settings):
    settings.SESSIONS_API = {**settings.SESSIONS_API, "MAX_PER_USER": 3}
    tokens = [api.create("auth0|bob")["token"] for _ in range(4)]
    assert api.current(tokens[0]).json()["code"] == "session_revoked"  # evicted: over the limit
    assert all(api.current(token).status_code == 200 for token in tokens[1:])

    others = api.call("POST", "/api/sessions/logout-all/", session=tokens[3],
                      body={"include_current": False})
    assert others.json() == {"revoked": 2}
    assert [api.current(token).status_code for token in tokens] == [401, 401, 401, 200]

    everyone = api.call("POST", "/api/sessions/logout-all/", session=tokens[3],
                        body={"include_current": True})
    assert everyone.json() == {"revoked": 1}
    assert api.current(tokens[3]).json()["code"] == "session_revoked"
    account = Account.objects.get(subject="auth0|bob")
    assert session_store.hot.index_read(str(account.pk)) == {}
    assert Session.objects.filter(account=account, revoked_at__isnull=True).count() == 0


def test_activity_slides_and_flushes_on_a_cluster(api, on_cluster):
    tokens = [api.create(f"auth0|user{n}")["token"] for n in range(6)]
    with later(120):
        assert all(api.current(token).status_code == 200 for token in tokens)
        assert activity_flush() == 6
    moved = Session.objects.filter(last_activity_at__gt=datetime.now(UTC) + timedelta(seconds=60))
    assert moved.count() == 6


def test_keys_of_one_operation_share_a_slot(api, on_cluster):
    hot = session_store.hot
    slots = set()
    for n in range(8):
        created = api.create(f"auth0|carol{n}")
        hashed = token_hash(created["token"])
        session_slot = on_cluster.keyslot(hot.session_key(hashed))
        assert session_slot == on_cluster.keyslot(hot.activity_key(hashed[:2]))
        account_id = str(Account.objects.get(subject=f"auth0|carol{n}").pk)
        assert hot.user_index_key(account_id) == f"ss:u:{{{account_id}}}"
        slots |= {session_slot, on_cluster.keyslot(hot.user_index_key(account_id))}
    # The data really is spread: several slots on several masters, not one by accident.
    assert len(slots) > 8
    masters = {on_cluster.get_node_from_key(hot.session_key(token_hash(api.create(
        f"auth0|dan{n}")["token"]))).name for n in range(12)}
    assert len(masters) > 1
