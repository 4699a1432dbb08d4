"""Every process repairs what the audit copy alone knows, within ``SESSION_REPAIR_LAG``.

A change made while one process could not reach Redis (a partition) is recorded in the
audit copy and marked ``hot_copy_stale``. Other processes may still reach Redis and serve the
old copy; this thread, in every process that uses the store, applies the marked rows at
least every ``SESSION_REPAIR_LAG`` seconds (one indexed query when there is nothing to do).
That bound is the one window the design has. Started on the first store call, so commands
like ``migrate`` never start it; ``0`` turns it off (the beat task still repairs).
"""

import logging
import os
import threading

from django.db import close_old_connections, connection

from ..conf import session_settings
from ..errors import StoreUnavailable

logger = logging.getLogger("sessions_api.store")


class Keeper:
    def __init__(self, store):
        self.store = store
        self.started = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        os.register_at_fork(after_in_child=self._forget)

    def ensure_running(self) -> None:
        if self.started:
            return
        with self._lock:
            if self.started:
                return
            self.started = True
            if session_settings.REPAIR_LAG > 0:
                self._stop.clear()
                threading.Thread(target=self._run, name="session-repair", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.started = False

    def _forget(self) -> None:
        # A forked child has no thread of its parent's; its first store call starts one.
        self.started = False
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(session_settings.REPAIR_LAG):
            close_old_connections()
            try:
                self.store.repair()
            except StoreUnavailable:
                continue  # a store is down: the next pass tries again
            except Exception as error:  # noqa: BLE001 - the thread must outlive any failure
                logger.warning("hot-copy repair pass failed",
                               extra={"error": type(error).__name__})
        connection.close()
