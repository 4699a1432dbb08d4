#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer on their standard loopback ports, starting
# a local one when the binaries are installed; otherwise stops with what is missing.
set -u
missing=()

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for() { # name port
  for _ in $(seq 1 60); do answers 127.0.0.1 "$2" && return 0; sleep 1; done
  return 1
}

if ! answers 127.0.0.1 5432; then
  if ls /etc/postgresql >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    wait_for postgres 5432 || missing+=("PostgreSQL on 127.0.0.1:5432 (start: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start)")
  else
    missing+=("PostgreSQL on 127.0.0.1:5432 with user postgres and trust auth (install postgresql)")
  fi
fi

if ! answers 127.0.0.1 6379; then
  if command -v redis-server >/dev/null; then
    echo "Redis is not answering on 127.0.0.1:6379; starting it"
    mkdir -p .run/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir "$PWD/.run/redis" --logfile "$PWD/.run/redis/redis.log"
    wait_for redis 6379 || missing+=("Redis on 127.0.0.1:6379")
  else
    missing+=("Redis on 127.0.0.1:6379 (install redis-server)")
  fi
fi

if ! answers 127.0.0.1 5672; then
  if command -v rabbitmq-server >/dev/null; then
    echo "RabbitMQ is not answering on 127.0.0.1:5672; starting it"
    rabbitmq-server -detached
    wait_for rabbitmq 5672 || missing+=("RabbitMQ on 127.0.0.1:5672 (start: rabbitmq-server -detached)")
  else
    missing+=("RabbitMQ on 127.0.0.1:5672 with guest/guest (install rabbitmq-server)")
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "The tests run against real services, and these are missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
