"""The console format of `make run`: a line a person reads, masked like the JSON lines."""

import logging
from datetime import datetime

from sessions_api.logging import ACCESS_LOGGER, redact


class ReadableFormatter(logging.Formatter):
    """``14:02:07  GET /api/sessions/current/ 200  1.9 ms`` for a request,
    ``14:02:07  INFO sessions_api.sessions: session created`` for anything else."""

    def format(self, record: logging.LogRecord) -> str:
        clock = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        if record.name == ACCESS_LOGGER:
            line = f"{clock}  {record.getMessage()}  {getattr(record, 'duration_ms', '?')} ms"
        else:
            line = f"{clock}  {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line += f" ({type(error).__name__}: {error})"
        return redact(line)
