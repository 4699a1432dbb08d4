"""What the hot copy holds for one session, and how it turns into the public JSON."""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime

# The text of each whole second seen lately: every read formats two times, and the seconds
# repeat (a session's last activity moves about once a minute).
_SECONDS: dict[int, str] = {}
_SECONDS_KEPT = 4096


def rfc3339(epoch_ms: int) -> str:
    """``2026-12-04T03:27:10.737Z`` for a time in milliseconds since the epoch."""
    second, milli = divmod(epoch_ms, 1000)
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        text = _SECONDS[second] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{text}.{milli:03d}Z"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(slots=True)
class HotRecord:
    """One live session as the hot path sees it.

    ``body`` is the public ``<Session>`` JSON object without its two sliding timestamps
    (``last_activity_at``, ``expires_at``), rendered once when the session changes so that
    reading it costs no serialisation.
    """

    session_id: str
    account_id: str
    user_pk: str
    body: str
    last_activity_ms: int
    absolute_deadline_ms: int
    state_version: int = 0
    session_version: int = 0

    def expires_at_ms(self, idle_ms: int) -> int:
        return min(self.last_activity_ms + idle_ms, self.absolute_deadline_ms)

    def is_expired(self, now_ms: int, idle_ms: int) -> bool:
        return now_ms >= self.expires_at_ms(idle_ms)

    def to_json(self, idle_ms: int) -> str:
        return (
            f'{self.body[:-1]},"last_activity_at":"{rfc3339(self.last_activity_ms)}",'
            f'"expires_at":"{rfc3339(self.expires_at_ms(idle_ms))}"}}'
        )

    @property
    def etag(self) -> str:
        digest = hashlib.blake2b(self.body.encode(), digest_size=12).hexdigest()
        return f'"{digest}"'

    def public(self) -> dict:
        return json.loads(self.body)

    def hot_value(self) -> str:
        """The Redis value: the body, a newline (JSON never holds a raw one), then the
        header ``la ax sv xv session account user``; the user's pk last, as it may hold
        spaces."""
        return (
            f"{self.body}\n{self.last_activity_ms} {self.absolute_deadline_ms} "
            f"{self.state_version} {self.session_version} {self.session_id} "
            f"{self.account_id} {self.user_pk}"
        )


@dataclass(frozen=True, slots=True)
class Tombstone:
    """What stays in the hot copy of a revoked session until its natural end: ``!reason``."""

    reason: str


TOMBSTONE_MARK = "!"


def hot_value_parse(value: str | None) -> HotRecord | Tombstone | None:
    """The inverse of ``HotRecord.hot_value`` (and of a tombstone); ``None`` for no key."""
    if value is None:
        return None
    if value.startswith(TOMBSTONE_MARK):
        return Tombstone(value[1:])
    body, _, header = value.partition("\n")
    la, ax, sv, xv, session_id, account_id, user_pk = header.split(" ", 6)
    return HotRecord(session_id, account_id, user_pk, body, int(la), int(ax), int(sv), int(xv))
