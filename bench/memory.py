"""Redis memory per session: write N sessions through the store's own put path (pipelined),
then measure. Run with the service's environment: ``python -m bench.memory N``."""

import json
import os
import secrets
import sys
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from sessions_api.store import session_store  # noqa: E402
from sessions_api.store.connection import redis_client  # noqa: E402
from sessions_api.store.record import HotRecord  # noqa: E402
from sessions_api.tokens import token_generate, token_hash  # noqa: E402

SESSIONS_PER_USER = 4
CHUNK = 2000


def realistic_body(session_id: str, account_id: str) -> str:
    """A ``<Session>`` as ``session_render`` writes it, with a tenant and a typical profile."""
    body = {
        "id": session_id,
        "user": {"id": account_id, "auth0_sub": f"auth0|{secrets.token_hex(12)}",
                 "email": "firstname.lastname@example.com", "name": "Firstname Lastname"},
        "tenant": {"id": str(uuid.uuid4()), "name": "Acme Corporation", "role": "member"},
        "needs_onboarding": False, "onboarding_completed": True,
        "subscription_plan": "free", "subscription_status": "active",
        "data": {}, "created_at": "2026-01-01T00:00:00.000Z",
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def sessions_write(count: int) -> list[tuple[str, str]]:
    hot = session_store.hot
    now = hot.clock()
    keys, pipe = [], redis_client().pipeline(transaction=False)
    account_id = user_pk = ""
    for n in range(count):
        if n % SESSIONS_PER_USER == 0:
            account_id, user_pk = str(uuid.uuid4()), str(n)
        session_id, hashed = str(uuid.uuid4()), token_hash(token_generate())
        record = HotRecord(session_id, account_id, user_pk, realistic_body(session_id, account_id),
                           now, now + 86_400_000, 0, 0)
        hot.put(hashed, record, mode="new", client=pipe)
        pipe.hset(hot.user_index_key(account_id), session_id, hashed)
        keys.append((hot.session_key(hashed), hot.user_index_key(account_id)))
        if len(pipe) >= CHUNK:
            pipe.execute()
    pipe.execute()
    return keys


def measure(client, count: int) -> dict:
    """On the server's own settings (``make bench``'s Redis runs on the defaults)."""
    client.flushdb()
    before = client.info("memory")["used_memory"]
    keys = sessions_write(count)
    after = client.info("memory")["used_memory"]
    pipe = client.pipeline(transaction=False)
    for session_key, _ in keys:
        pipe.memory_usage(session_key, samples=0)
    per_key = pipe.execute()
    indexes = {index for _, index in keys}
    pipe = client.pipeline(transaction=False)
    for index in indexes:
        pipe.memory_usage(index, samples=0)
    index_bytes = sum(pipe.execute())
    assert client.dbsize() == count + len(indexes), "every session and index must be written"
    client.flushdb()
    return {
        "sessions": count,
        "session_key_bytes": sum(per_key) / count,
        "index_bytes_per_session": index_bytes / count,
        "used_memory_per_session": (after - before) / count,
    }


if __name__ == "__main__":
    print(json.dumps(measure(redis_client(), int(sys.argv[1]))))
