# The session service. `make run` to try it, `make test` to prove it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) backend/manage.py
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
EVENTS_PORT ?= 8001
WEB_WORKERS ?= 3

.PHONY: install env run serve events worker beat test test-backend test-frontend lint schema bench bench-streams fuzz manage clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,server,embedded]"
	@touch $(STAMP)

run: install
	@bash scripts/run.sh

# .env for docker-compose.yml: .env.example with a fresh secret for every placeholder.
env:
	@$(PYTHON) scripts/make_env.py

serve: install
	$(MANAGE) migrate --noinput
	@# Multiprocess metrics: the directory must start empty (stale files would add up forever).
	@if [ -n "$${PROMETHEUS_MULTIPROC_DIR:-}" ]; then \
		mkdir -p "$$PROMETHEUS_MULTIPROC_DIR" && rm -f "$$PROMETHEUS_MULTIPROC_DIR"/*.db; fi
	@# config/gunicorn.py: gunicorn's own access log off (the service writes one JSON line per request).
	cd backend && ../$(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi:application \
		--bind $(HOST):$(PORT) --workers $(WEB_WORKERS) --forwarded-allow-ips "$${FORWARDED_ALLOW_IPS:-127.0.0.1}"

# The event stream (GET /api/sessions/events/) from the ASGI entry point: open streams hold
# no gunicorn worker. The proxy routes that one path here (docs/operations.md).
events: install
	cd backend && ../$(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(EVENTS_PORT) \
		--no-access-log --lifespan off --timeout-graceful-shutdown 5 \
		--proxy-headers --forwarded-allow-ips "$${FORWARDED_ALLOW_IPS:-127.0.0.1}"

worker: install
	cd backend && ../$(VENV)/bin/celery -A config worker --loglevel INFO

beat: install
	cd backend && ../$(VENV)/bin/celery -A config beat --loglevel INFO --schedule ../.run/celerybeat-schedule

test: install
	@bash scripts/services.sh
	$(PY) -m pytest -n 2 -q
	@if [ -x frontend-contract/run-tests.sh ]; then bash frontend-contract/run-tests.sh; fi

lint: install
	$(VENV)/bin/ruff check backend

schema: install
	DJANGO_DEBUG=1 $(MANAGE) spectacular --file frontend-contract/openapi.yaml --validate
	cd frontend-contract && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run --silent generate

# A long schemathesis run against /api/schema/ on a live test server (make test runs a short one).
fuzz: install
	@bash scripts/services.sh
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-300} $(PY) -m pytest -q -s -p no:xdist backend/tests/test_schemathesis.py

# The peers the bench measures against (knox...) are the bench extra, not the service's.
$(VENV)/.bench-installed: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[bench]"
	@touch $@

bench: install $(VENV)/.bench-installed
	@bash scripts/services.sh
	$(PY) bench/run.py

# Open event streams (BENCH_STREAMS, 1000) against /current's throughput, and their memory.
bench-streams: install
	@bash scripts/services.sh
	$(PY) bench/streams.py

manage: install
	$(MANAGE) $(ARGS)

clean:
	rm -rf $(VENV) .run
