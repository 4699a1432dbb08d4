"""A small circuit breaker, so a dead store costs one timeout, not one per request."""

import logging
import threading
import time

from ..conf import session_settings
from ..metrics import STORE_ERRORS

logger = logging.getLogger("sessions_api.store")


class CircuitBreaker:
    clock = staticmethod(time.monotonic)

    def __init__(self, name: str):
        self.name = name
        self.open_until = 0.0
        self.tripped = False  # open now, or open since the last successful call
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.tripped, self.open_until = False, 0.0

    @property
    def state(self) -> str:
        if not self.tripped:
            return "closed"
        return "open" if self.clock() < self.open_until else "half_open"

    def allows_call(self) -> bool:
        return self.clock() >= self.open_until

    def record_failure(self, error: BaseException) -> None:
        STORE_ERRORS.labels(self.name).inc()
        with self._lock:
            if not self.tripped:
                logger.warning(
                    "store down, circuit opened",
                    extra={"store": self.name, "error": type(error).__name__},
                )
            self.tripped = True
            self.open_until = self.clock() + session_settings.BREAKER_COOLDOWN

    def record_success(self) -> bool:
        """Close the circuit; ``True`` when it had been tripped (the store just came back)."""
        if not self.tripped:
            return False
        with self._lock:
            recovered, self.tripped, self.open_until = self.tripped, False, 0.0
        if recovered:
            logger.warning("store back, circuit closed", extra={"store": self.name})
        return recovered
