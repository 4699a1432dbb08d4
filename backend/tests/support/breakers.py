"""The store's circuit breakers, as a test drives them."""

from django.db import connection

from sessions_api.store import session_store
from sessions_api.store.audit import database_breaker


def cooldown_passes():
    """The breakers' cooldown is over (their clock, not a sleep). As at the start of a real
    request, a database connection broken by the outage is dropped (Django's test client
    skips that step)."""
    for breaker in (session_store.redis_breaker, database_breaker):
        breaker.open_until = 0.0
    if not connection.in_atomic_block:
        connection.close()
