"""The session app inside another Django + DRF project (``host_project/``).

The host project runs in its own Python process: pytest-django configures one settings module
per process, and the host must not see ``backend/`` on its path (``host_project/run.py``).
"""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent
HOST = BACKEND / "tests" / "host_project"
STANDALONE = {"config", "accounts", "tests"}


def host_run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PYTEST_") and name != "DJANGO_SETTINGS_MODULE"}
    env["HOST_TEST_DB_NAME"] = os.environ.get("TEST_DB_NAME", "test_sessions") + "_host"
    return subprocess.run([sys.executable, str(HOST / "run.py"), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_host_project_passes_the_session_contract():
    result = host_run("pytest", "-q", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    contract = (HOST / "contract_sessions.py").read_text()
    expected = len(re.findall(r"^def test_", contract, re.MULTILINE))
    summary = result.stdout.strip().splitlines()[-1]
    assert re.match(rf"^{expected} passed in ", summary), output[-3000:]


def test_the_host_imports_every_app_module_without_the_standalone_project():
    result = host_run("import_all", timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not Path(report["app_file"]).resolve().is_relative_to(BACKEND / "tests")
    assert len(report["imported"]) > 40
    assert STANDALONE.isdisjoint(report["loaded"])


def _standalone_references(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = re.findall(r"\b(?:config|accounts)\.[a-z_]+\b", node.value)
        found += [f"{path.name}:{node.lineno}: {name}" for name in names
                  if name.partition(".")[0] in STANDALONE]
    return found


def test_the_app_sources_name_nothing_of_the_standalone_project():
    sources = sorted((BACKEND / "sessions_api").rglob("*.py"))
    assert len(sources) > 40
    found = [ref for path in sources for ref in _standalone_references(path)]
    assert found == []
