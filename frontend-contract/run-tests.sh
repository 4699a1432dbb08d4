#!/usr/bin/env bash
# Runs every frontend-contract check: generated types up to date, tsc, unit tests, the
# committed example build up to date, the packed tarball installable, and the end-to-end tests
# in headless Chromium against a backend this script starts and stops (which serves the page).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
python="$repo/.venv/bin/python"
cd "$here"

log() { printf '\n== %s\n' "$*"; }

# npm ci when node_modules is absent or was installed from another lock file.
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.installed-from-lock"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  log "installing Chromium from Debian"
  if [[ "$(id -u)" != 0 ]]; then
    echo "Chromium is missing at $chromium; install it with: sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

log "generated types match openapi.yaml"
node scripts/check-generated.mjs

log "tsc --noEmit"
node_modules/.bin/tsc --noEmit

log "unit tests"
node_modules/.bin/vitest run

log "the committed example build (example/dist) matches its sources"
node scripts/source-hash.mjs --check

log "npm pack, installed into a scratch project"
node scripts/check-package.mjs

# --- end-to-end: the backend serves the API and the example page at / (same origin); the
# events process (uvicorn, as make events) serves the event stream on a port of its own ---
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
api_port="$(free_port)"
events_port="$(free_port)"
while [[ "$events_port" == "$api_port" ]]; do events_port="$(free_port)"; done

workdir="$(mktemp -d)"
backend_pid=""
events_pid=""
stop() {
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$events_pid"
  stop "$backend_pid"
  rm -rf "$workdir"
}
trap cleanup EXIT

export DJANGO_DEBUG=1
export DATABASE_URL="sqlite:///$workdir/e2e.sqlite3"
export REDIS_URL="${E2E_REDIS_URL:-redis://127.0.0.1:6379/14}"
# The backend's own settings and its dev identity provider, whatever the caller exported.
unset DJANGO_SETTINGS_MODULE AUTH0_DOMAIN AUTH0_AUDIENCE AUTH0_ISSUER AUTH0_JWKS_URL CORS_ALLOWED_ORIGINS

cd "$repo"
log "backend: migrate, flush $REDIS_URL, start on 127.0.0.1:$api_port"
"$python" backend/manage.py migrate --noinput >"$workdir/migrate.log" 2>&1 || { cat "$workdir/migrate.log"; exit 1; }
"$python" -c 'import os, redis; redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()'
"$python" backend/manage.py runserver "127.0.0.1:$api_port" --noreload >"$workdir/backend.log" 2>&1 &
backend_pid=$!
log "events process: start on 127.0.0.1:$events_port (CORS for http://127.0.0.1:$api_port)"
(cd backend && CORS_ALLOWED_ORIGINS="http://127.0.0.1:$api_port" \
  exec ../.venv/bin/uvicorn config.asgi:application --host 127.0.0.1 --port "$events_port" \
  --no-access-log --lifespan off --timeout-graceful-shutdown 2) >"$workdir/events.log" 2>&1 &
events_pid=$!
cd "$here"

# Waits until <url> answers <status>, or fails with the log of the process that should answer.
wait_for() {
  local url="$1" status="$2" pid="$3" log="$4" deadline=$((SECONDS + 60))
  until node -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === Number(process.argv[2]) ? 0 : 1), () => process.exit(1))' "$url" "$status"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "$url did not answer $status within 60 s:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.5
  done
}
wait_for "http://127.0.0.1:$api_port/api/health/live/" 200 "$backend_pid" "$workdir/backend.log"
# Without a session the stream answers 401: the process is up.
wait_for "http://127.0.0.1:$events_port/api/sessions/events/" 401 "$events_pid" "$workdir/events.log"

log "end-to-end tests in headless Chromium"
status=0
E2E_API_URL="http://127.0.0.1:$api_port" E2E_EVENTS_URL="http://127.0.0.1:$events_port/api/sessions/events/" CHROMIUM_PATH="$chromium" \
  node_modules/.bin/vitest run --config e2e/vitest.config.ts || status=$?
if [[ $status != 0 ]]; then
  echo "backend log:" >&2
  tail -n 80 "$workdir/backend.log" >&2
  echo "events process log:" >&2
  tail -n 40 "$workdir/events.log" >&2
fi
exit $status
