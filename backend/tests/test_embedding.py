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


def _as_python(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_as_python(item) for item in value) + "]"
    return repr(value)


def test_the_embedding_guide_lists_every_setting_with_its_default_and_environment_name():
    from sessions_api.conf import SETTINGS

    guide = (BACKEND.parent / "docs" / "embedding.md").read_text()
    missing = [key for key, spec in SETTINGS.items()
               if f'"{key}": {_as_python(spec.default)},' not in guide
               or (spec.env and spec.env not in guide)]
    assert missing == []


def test_the_embedding_guide_counts_the_lines_the_host_project_adds():
    guide = (BACKEND.parent / "docs" / "embedding.md").read_text()
    stated = re.search(r"\*\*(\d+) lines of settings and (\d+) line of URLs\*\*", guide)
    assert stated, "the closing figure is missing"
    marked = [(HOST / "hostsite" / name).read_text().count("# session app")
              for name in ("settings.py", "urls.py")]
    assert [int(stated.group(1)), int(stated.group(2))] == marked
