"""A create held at a chosen moment, so a test can run something else meanwhile."""

import threading

from django.db import connection
from django.test import Client

from sessions_api.store import session_store


def in_thread(action) -> threading.Thread:
    """``action`` on a thread of its own, with its own database connection."""
    def run():
        try:
            action()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


class HeldCreate:
    """``POST /api/sessions/create/`` with ``access_token``, held just before it writes its hot
    copy: inside its transaction, holding the locks of the user it signs in. ``overlap(action)``
    runs ``action`` on another thread while the create is held, gives it a second to finish
    (it may be waiting on the create's locks), then lets the create go on."""

    def __init__(self, monkeypatch, access_token: str):
        self.reached, self.go, self.response = threading.Event(), threading.Event(), None
        publish_new = session_store.publish_new

        def held_publish_new(session, record, **kwargs):
            self.reached.set()
            assert self.go.wait(10), "the test never let the create go on"
            publish_new(session, record, **kwargs)

        monkeypatch.setattr(session_store, "publish_new", held_publish_new)
        self.access_token = access_token

    def _create(self):
        self.response = Client().post("/api/sessions/create/", content_type="application/json",
                                      HTTP_AUTHORIZATION=f"Bearer {self.access_token}")

    def overlap(self, action):
        creating = in_thread(self._create)
        assert self.reached.wait(10), "the create never reached its hot copy"
        other = in_thread(action)
        other.join(1.0)
        self.go.set()
        creating.join(10)
        other.join(10)
        return self.response
