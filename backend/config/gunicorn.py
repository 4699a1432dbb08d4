"""gunicorn's settings for ``make serve`` (``-c config/gunicorn.py``); the bind address and
the number of workers come from its command line.

gunicorn's own access log stays off: the service writes one JSON line per request itself
(``RequestIdMiddleware``), with the request id and the path redacted. gunicorn's line would
be a second, unredacted copy (a token put in a query string would reach the log verbatim),
and formatting it costs every request.
"""

accesslog = None
worker_class = "sync"
