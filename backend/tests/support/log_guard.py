"""Every log record of the test run, checked for secrets: a session token, or a token hash
that the service stored (every ``Session.token_hash`` ever saved during the run)."""

import contextlib
import logging
import re
import traceback

from django.db.models.signals import post_save

TOKEN = re.compile(r"sst_[A-Za-z0-9_-]{43}")
HEX64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
_STANDARD = set(logging.makeLogRecord({}).__dict__)


def record_texts(record: logging.LogRecord) -> list[str]:
    """Everything a formatter or a log shipper could write out of one record."""
    texts = [str(record.msg)]
    # A malformed record cannot be formatted; its raw args are still checked below.
    with contextlib.suppress(Exception):
        texts.append(record.getMessage())
    texts += [repr(arg) for arg in (record.args or ())]
    texts += [f"{name}={value!r}" for name, value in record.__dict__.items()
              if name not in _STANDARD]
    if record.exc_info and record.exc_info[1] is not None:
        texts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.stack_info:
        texts.append(record.stack_info)
    return texts


class LogGuard(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.stored_hashes: set[str] = set()
        self.hex_seen: dict[str, str] = {}  # every 64-hex string logged -> where
        self.leaks: list[str] = []
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        where = f"{record.name}: {str(record.msg)[:80]!r}"
        texts = record_texts(record)
        if any(TOKEN.search(text) for text in texts):
            self.leaks.append(f"{where} carries a session token")
        for text in texts:
            for value in HEX64.findall(text):
                self.hex_seen.setdefault(value.lower(), where)

    def session_saved(self, sender, instance, **kwargs) -> None:
        self.stored_hashes.add(instance.token_hash.lower())

    def install(self) -> None:
        logging.getLogger().addHandler(self)
        from sessions_api.models import Session

        post_save.connect(self.session_saved, sender=Session, weak=False,
                          dispatch_uid=f"tests.log_guard.{id(self)}")

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
        from sessions_api.models import Session

        post_save.disconnect(sender=Session, dispatch_uid=f"tests.log_guard.{id(self)}")

    def found(self) -> list[str]:
        """Leaks so far: tokens, and logged hex strings that turned out to be stored hashes
        (a hash may be logged before its row is saved, so the match is made at the end)."""
        hashes = [f"{where} carries a token hash"
                  for value, where in self.hex_seen.items() if value in self.stored_hashes]
        return self.leaks + hashes
