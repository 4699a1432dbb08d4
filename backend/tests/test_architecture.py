"""The session app's layout holds: its layers (pyproject.toml, ``[tool.importlinter]``) and
no import cycle anywhere in it, imports inside functions included."""

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_each_layer_imports_only_from_the_layers_below_it():
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter), "--no-cache", str(ROOT / "pyproject.toml")],
                            cwd=ROOT / "backend", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-4000:]


def test_no_module_of_the_app_imports_itself_through_others():
    graph = grimp.build_graph("sessions_api")
    cycles = sorted(
        {tuple(sorted((module, imported)))
         for module in graph.modules
         for imported in graph.find_modules_directly_imported_by(module)
         if graph.chain_exists(importer=imported, imported=module)})
    assert cycles == []
