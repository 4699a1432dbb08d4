#!/usr/bin/env bash
# `make run`: the whole service on embedded defaults (SQLite audit database unless DATABASE_URL
# is set, a local Redis, the dev identity provider), with web, events, worker and beat.
#
# RUN_DIR (default .run) holds its files; RUN_REDIS_PORT (default 6379) is where it looks for,
# or starts, its Redis when REDIS_URL is unset (scripts/local_redis.py picks which one).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p "${RUN_DIR:-.run}"
RUN_DIR="$(cd "${RUN_DIR:-.run}" && pwd)"
export RUN_DIR
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
EVENTS_PORT="${EVENTS_PORT:-8001}"
RUN_REDIS_PORT="${RUN_REDIS_PORT:-6379}"
PY=.venv/bin/python
pids=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f "$RUN_DIR/redis/redis.pid" ]; then
    kill "$(cat "$RUN_DIR/redis/redis.pid")" 2>/dev/null || true
    rm -f "$RUN_DIR/redis/redis.pid"
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

if [ -z "${REDIS_URL:-}" ]; then
  RUN_REDIS_PORT="$RUN_REDIS_PORT" $PY scripts/local_redis.py
  export REDIS_URL="redis://127.0.0.1:$RUN_REDIS_PORT/0"
fi

$PY backend/manage.py migrate --noinput >/dev/null
echo "Audit database migrated (${DATABASE_URL:-SQLite at $RUN_DIR/db.sqlite3})."

# One readable line per request on this console; the JSON lines go to web.log.
LOG_CONSOLE=readable LOG_FILE="$RUN_DIR/web.log" \
  $PY backend/manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
# The event stream's ASGI process (make events). The page on $PORT names it as the client's
# eventsUrl, so this process lets that origin in (CORS) unless CORS_ALLOWED_ORIGINS says else.
(cd backend && CORS_ALLOWED_ORIGINS="${CORS_ALLOWED_ORIGINS:-http://$HOST:$PORT}" \
  exec ../.venv/bin/uvicorn config.asgi:application --host "$HOST" --port "$EVENTS_PORT" \
  --no-access-log --lifespan off --timeout-graceful-shutdown 2) >"$RUN_DIR/events.log" 2>&1 &
pids+=($!)
# Worker and beat write to their own files, so the console shows the web requests.
(cd backend && exec ../.venv/bin/celery -A config worker --loglevel INFO --concurrency 1) \
  >"$RUN_DIR/worker.log" 2>&1 &
pids+=($!)
(cd backend && exec ../.venv/bin/celery -A config beat --loglevel INFO \
  --schedule "$RUN_DIR/celerybeat-schedule") >"$RUN_DIR/beat.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fs "http://$HOST:$PORT/api/health/live/" >/dev/null 2>&1 && break
  sleep 0.2
done

BASE="http://$HOST:$PORT"
# The example page follows the events process on port 8001 of its own host when served on 8000;
# on other ports it is told where the stream is.
PAGE="$BASE/"
if [ "$PORT" != 8000 ] || [ "$EVENTS_PORT" != 8001 ]; then
  PAGE="$BASE/?events=http://$HOST:$EVENTS_PORT/api/sessions/events/"
fi
SHOWN_DIR="${RUN_DIR#"$PWD/"}"
DEV_ENV="DJANGO_DEBUG=1"
[ "$SHOWN_DIR" = .run ] || DEV_ENV="$DEV_ENV RUN_DIR=$RUN_DIR"
cat <<MSG

  Session service running at $BASE  (web, events, worker and beat; Ctrl-C stops all)

  1. Get an access token from the dev identity provider:
       ACCESS=\$($DEV_ENV $PY backend/manage.py dev_token --sub "dev|alice" --email alice@example.com --name Alice)

  2. Exchange it for a session:
       SESSION=\$(curl -s -X POST $BASE/api/sessions/create/ -H "Authorization: Bearer \$ACCESS" \\
                 | $PY -c 'import json,sys; print(json.load(sys.stdin)["token"])')

  3. Who am I, which tenant, where in onboarding:
       curl -s $BASE/api/sessions/current/ -H "Authorization: Session \$SESSION"

  4. Finish onboarding:
       curl -s -X PATCH $BASE/api/sessions/update/ -H "Authorization: Session \$SESSION" \\
            -H "Content-Type: application/json" -d '{"needs_onboarding": false, "onboarding_completed": true}'

  5. Follow the session's events (another terminal; step 6 ends the stream with session.revoked):
       curl -sN http://$HOST:$EVENTS_PORT/api/sessions/events/ -H "Authorization: Session \$SESSION"
     The SDK: createSessionClient({ ..., eventsUrl: "http://$HOST:$EVENTS_PORT/api/sessions/events/" })

  6. Log out (the token is dead at once):
       curl -s -i -X DELETE $BASE/api/sessions/current/ -H "Authorization: Session \$SESSION"

  Example page (signs in through the dev identity provider, follows the event stream):
       $PAGE

  API schema: $BASE/api/schema/    Health: $BASE/api/health/ready/    Admin: $BASE/admin/
  Logs: $SHOWN_DIR/worker.log, $SHOWN_DIR/beat.log; the web's JSON lines in $SHOWN_DIR/web.log,
  the event stream's in $SHOWN_DIR/events.log.
  Requests are shown below.

MSG

status=0
wait -n "${pids[@]}" || status=$?
# A process that handled Ctrl-C itself ends with 0; anything else means one failed.
if [ "$status" -ne 0 ]; then
  echo "A process of the service stopped (exit status $status); shutting the rest down." >&2
fi
