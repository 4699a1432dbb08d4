"""The Redis hot copy's own rules, on a real Redis: conditional writes never resurrect a
revoked session, never replace a newer copy, never move last activity backwards."""

import dataclasses

import pytest

from sessions_api.conf import session_settings
from sessions_api.store import session_store
from sessions_api.store.record import HotRecord, Tombstone, hot_value_parse

from .support.hot_copy import hot_read

HASH = "ab" + "0" * 62
NOW = 1_900_000_000_000


@pytest.fixture
def hot(monkeypatch):
    copy = session_store.hot
    monkeypatch.setattr(copy, "clock", lambda: NOW)
    return copy


def record(**changes) -> HotRecord:
    base = HotRecord("5e7b1c2a-0000-4000-8000-000000000001", "acc-1", "user pk with spaces",
                     '{"id":"s","data":{"text":"a\\nb"}}', NOW, NOW + 86_400_000, 1, 1)
    return dataclasses.replace(base, **changes)


def test_a_value_reads_back_as_the_record_it_was_made_from():
    original = record()
    assert hot_value_parse(original.hot_value()) == original
    assert hot_value_parse("!logout") == Tombstone("logout")
    assert hot_value_parse(None) is None


def test_new_writes_only_where_nothing_is(hot, redis_conn):
    key = hot.session_key(HASH)
    assert hot.put(HASH, record(), mode="new")
    assert not hot.put(HASH, record(state_version=9), mode="new")
    assert hot_read(redis_conn, key).state_version == 1


def test_replace_needs_a_live_copy_and_never_goes_back_a_version(hot, redis_conn):
    key = hot.session_key(HASH)
    assert not hot.put(HASH, record(), mode="replace")
    assert redis_conn.get(key) is None
    hot.put(HASH, record(state_version=5), mode="new")
    assert not hot.put(HASH, record(state_version=4), mode="replace")
    assert not hot.put(HASH, record(state_version=6, session_version=0), mode="replace")
    assert hot.put(HASH, record(state_version=6, body='{"id":"s2"}'), mode="replace")
    assert hot_read(redis_conn, key).body == '{"id":"s2"}'


def test_a_write_keeps_a_newer_last_activity(hot, redis_conn):
    key = hot.session_key(HASH)
    hot.put(HASH, record(last_activity_ms=NOW + 5_000), mode="new")
    assert hot.put(HASH, record(state_version=2, last_activity_ms=NOW), mode="upsert")
    stored = hot_read(redis_conn, key)
    assert (stored.state_version, stored.last_activity_ms) == (2, NOW + 5_000)
    assert stored.user_pk == "user pk with spaces"


@pytest.mark.parametrize("mode", ["new", "replace", "upsert"])
def test_no_write_brings_back_a_tombstone(hot, redis_conn, mode):
    hot.put(HASH, record(), mode="new")
    hot.bury(HASH, "logout", NOW + 60_000)
    assert not hot.put(HASH, record(state_version=99, session_version=99), mode=mode)
    assert hot_read(redis_conn, hot.session_key(HASH)) == Tombstone("logout")


def test_the_value_expires_at_the_idle_deadline_plus_grace(hot, redis_conn):
    hot.put(HASH, record(), mode="new")
    idle_ms = session_settings.IDLE_TIMEOUT * 1000
    ttl = redis_conn.pttl(hot.session_key(HASH))
    assert idle_ms + 59_000 < ttl <= idle_ms + 60_000
