"""Reading and ageing a session's Redis value from a test, in the store's own format."""

import dataclasses

from sessions_api.store.record import HotRecord, Tombstone, hot_value_parse


def hot_read(connection, key: str) -> HotRecord | Tombstone | None:
    return hot_value_parse(connection.get(key))


def hot_last_activity_set(connection, key: str, last_activity_ms: int) -> None:
    """Pretend the session was last used at ``last_activity_ms`` (its TTL unchanged)."""
    record = hot_read(connection, key)
    assert isinstance(record, HotRecord), f"no live session at {key}"
    aged = dataclasses.replace(record, last_activity_ms=last_activity_ms)
    connection.set(key, aged.hot_value(), keepttl=True)
