"""The committed OpenAPI document is the one the code generates: no drift."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    env = {**os.environ, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--file", str(generated), "--validate"],
        cwd=ROOT / "backend", env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "frontend-contract" / "openapi.yaml").read_text()
    assert generated.read_text() == committed, (
        "frontend-contract/openapi.yaml is out of date: run `make schema` and commit it")
