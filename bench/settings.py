"""The production settings of the service, plus the benchmark's reference views (bench/urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
