#!/bin/sh
# The image's entrypoint. Roles: web (gunicorn on $HOST:$PORT), events (the event stream,
# uvicorn on $HOST:$EVENTS_PORT), worker, beat (Celery),
# healthcheck (the web's readiness, for HEALTHCHECK); anything else is run as it is, e.g.
# `python manage.py cleanup_sessions --dry-run`. MIGRATE=1 applies the migrations first: give
# it to one service only (the web in docker-compose.yml), never to a healthcheck.
set -eu

role="${1:-web}"
if [ "$#" -gt 0 ]; then shift; fi

if [ "$role" = healthcheck ]; then
  exec python -c 'import os, urllib.request
port = os.environ.get("PORT", "8000")
urllib.request.urlopen("http://127.0.0.1:" + port + "/api/health/ready/", timeout=4)'
fi

# Multiprocess metrics: the directory must exist, and a service must start it empty (stale
# files would add up forever; each container has a /tmp of its own).
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  case "$role" in web|events|worker|beat) rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db ;; esac
fi

if [ "${MIGRATE:-0}" = 1 ]; then
  python manage.py migrate --noinput
fi

case "$role" in
  web)
    # As make serve: config/gunicorn.py keeps gunicorn's access log off (the app writes one
    # JSON line per request).
    exec gunicorn -c config/gunicorn.py config.wsgi:application \
      --bind "${HOST:-0.0.0.0}:${PORT:-8000}" \
      --workers "${WEB_WORKERS:-3}" --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" "$@"
    ;;
  events)
    # As make events: the ASGI process that holds the open event streams.
    exec uvicorn config.asgi:application \
      --host "${HOST:-0.0.0.0}" --port "${EVENTS_PORT:-8001}" \
      --no-access-log --lifespan off --timeout-graceful-shutdown 5 \
      --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" "$@"
    ;;
  worker)
    exec celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    exec celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule /app/var/celerybeat-schedule "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
