#!/usr/bin/env bash
# `make run`: the whole service on embedded defaults (SQLite audit database unless DATABASE_URL
# is set, a local Redis, the dev identity provider), with web, worker and beat.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .run
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
PY=.venv/bin/python
pids=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f .run/redis/redis.pid ]; then
    kill "$(cat .run/redis/redis.pid)" 2>/dev/null || true
    rm -f .run/redis/redis.pid
  fi
}
trap cleanup EXIT INT TERM

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if [ -z "${REDIS_URL:-}" ]; then
  if ! answers 127.0.0.1 6379; then
    if ! command -v redis-server >/dev/null; then
      echo "No Redis answers on 127.0.0.1:6379 and redis-server is not installed." >&2
      echo "Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)" >&2
      echo "or point REDIS_URL at a Redis you have." >&2
      exit 1
    fi
    mkdir -p .run/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir "$PWD/.run/redis" --logfile "$PWD/.run/redis/redis.log" \
      --pidfile "$PWD/.run/redis/redis.pid"
    for _ in $(seq 1 50); do answers 127.0.0.1 6379 && break; sleep 0.1; done
    echo "Started a local Redis on 127.0.0.1:6379 (data under .run/redis, stopped on exit)."
  fi
  export REDIS_URL="redis://127.0.0.1:6379/0"
fi

$PY backend/manage.py migrate --noinput >/dev/null
echo "Audit database migrated (${DATABASE_URL:-SQLite at .run/db.sqlite3})."

$PY backend/manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
# Worker and beat write to their own files, so the console shows the web requests.
(cd backend && exec ../.venv/bin/celery -A config worker --loglevel INFO --concurrency 1) \
  >.run/worker.log 2>&1 &
pids+=($!)
(cd backend && exec ../.venv/bin/celery -A config beat --loglevel INFO \
  --schedule ../.run/celerybeat-schedule) >.run/beat.log 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fs "http://$HOST:$PORT/api/health/live/" >/dev/null 2>&1 && break
  sleep 0.2
done

BASE="http://$HOST:$PORT"
cat <<MSG

  Session service running at $BASE  (web, worker and beat; Ctrl-C stops all)

  1. Get an access token from the dev identity provider:
       ACCESS=\$(DJANGO_DEBUG=1 $PY backend/manage.py dev_token --sub "dev|alice" --email alice@example.com --name Alice)

  2. Exchange it for a session:
       SESSION=\$(curl -s -X POST $BASE/api/sessions/create/ -H "Authorization: Bearer \$ACCESS" \\
                 | $PY -c 'import json,sys; print(json.load(sys.stdin)["token"])')

  3. Who am I, which tenant, where in onboarding:
       curl -s $BASE/api/sessions/current/ -H "Authorization: Session \$SESSION"

  4. Finish onboarding:
       curl -s -X PATCH $BASE/api/sessions/update/ -H "Authorization: Session \$SESSION" \\
            -H "Content-Type: application/json" -d '{"needs_onboarding": false, "onboarding_completed": true}'

  5. Log out (the token is dead at once):
       curl -s -i -X DELETE $BASE/api/sessions/current/ -H "Authorization: Session \$SESSION"

  API schema: $BASE/api/schema/    Health: $BASE/api/health/ready/    Admin: $BASE/admin/
  Worker and beat logs: .run/worker.log, .run/beat.log. Requests are logged below.

MSG

wait -n "${pids[@]}"
echo "A process of the service stopped; shutting the rest down." >&2
