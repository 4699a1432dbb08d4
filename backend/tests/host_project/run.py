"""Runs a Python module the way the host project sees the world: only the host project and the
session app are importable.

The repository's virtualenv puts the whole of ``backend/`` on ``sys.path`` (an editable
install), so the standalone service's ``config`` and ``accounts`` would be importable as well.
A real host has only the installed app, so ``backend/`` is taken off the path and replaced by a
directory that holds nothing but ``sessions_api``. It runs from this directory, so that pytest
takes its ``pytest.ini`` and collects nothing of the main suite.

    .venv/bin/python backend/tests/host_project/run.py pytest -q
    .venv/bin/python backend/tests/host_project/run.py django makemigrations people
"""

import os
import runpy
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKEND = HERE.parent.parent


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostsite.settings")
    os.chdir(HERE)
    with tempfile.TemporaryDirectory(prefix="host-app-") as app_path:
        os.symlink(BACKEND / "sessions_api", Path(app_path) / "sessions_api")
        others = [p for p in sys.path[1:] if Path(p or ".").resolve() != BACKEND]
        sys.path[:] = [str(HERE), app_path, *others]
        module = sys.argv.pop(1)
        sys.argv[0] = module
        runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
