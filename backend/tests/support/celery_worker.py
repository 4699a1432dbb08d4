"""A real ``celery -A config worker`` process fed by the RabbitMQ on 127.0.0.1:5672, on a
queue of its own, with the production settings pointed at this run's test database and Redis
db."""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from celery import Celery
from django.conf import settings as django_settings
from kombu import Connection

BACKEND = Path(__file__).resolve().parent.parent.parent
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


class WorkerHandle:
    def __init__(self, queue: str, log_path: Path, process: subprocess.Popen):
        self.queue, self.log_path, self.process = queue, log_path, process

    def send(self, task_name: str) -> None:
        """Publish to RabbitMQ (the test settings' own broker is in memory, and
        ``CELERY_BROKER_URL`` in the environment would win over any app setting)."""
        producer = Celery("test-producer")
        with producer.connection_for_write(RABBITMQ) as connection:
            producer.send_task(task_name, queue=self.queue, connection=connection)
        producer.close()


def wait_for(condition, process, log_path, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"worker did not get there:\n{log_path.read_text()[-4000:]}")


@contextlib.contextmanager
def running_worker(log_path: Path, **env: str):
    """The worker, ready; ``env`` adds to its environment. Stopped and its queue deleted
    afterwards."""
    queue = f"test-sessions-{uuid.uuid4().hex[:12]}"
    database = django_settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": (f"postgres://{database['USER']}@{database['HOST']}:"
                         f"{database['PORT'] or 5432}/{database['NAME']}"),
        "REDIS_URL": django_settings.SESSIONS_API["REDIS_URL"],
        "CELERY_BROKER_URL": RABBITMQ,
        "DJANGO_DEBUG": "0",
        **env,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue,
             "--pool", "solo", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel", "INFO"],
            cwd=BACKEND, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "ready" in log_path.read_text(), process, log_path, 60)
        yield WorkerHandle(queue, log_path, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with Connection(RABBITMQ) as connection:
            connection.default_channel.queue_delete(queue)
