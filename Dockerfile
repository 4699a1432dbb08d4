# syntax=docker/dockerfile:1
# The production image of the session service: the app's wheel and its dependencies, pinned by
# constraints.txt, in a virtualenv; the standalone project (manage.py, config/, accounts/)
# beside it; a user without privileges. How to build and run it: docs/operations.md.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY backend/sessions_api backend/sessions_api
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install -c constraints.txt "$(ls /wheels/*.whl)[server]"

FROM python:${PYTHON_VERSION}-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    HOST=0.0.0.0 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/session-service-metrics
# Home is /app/var, the one writable directory (beat's schedule, gunicorn's control socket).
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app/var --no-create-home app \
 && mkdir -p /app/var \
 && chown app:app /app/var
COPY --from=build /opt/venv /opt/venv
COPY --chmod=755 scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint
WORKDIR /app/backend
COPY backend/manage.py ./
COPY backend/config config
COPY backend/accounts accounts
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["docker-entrypoint", "healthcheck"]
ENTRYPOINT ["docker-entrypoint"]
CMD ["web"]
