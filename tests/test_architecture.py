"""The core stays framework-free: import-linter checks the contract in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_core_imports_no_web_framework_or_cli() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_module_imports_itself_through_others() -> None:
    """No import cycle anywhere in alliance, function-level imports included."""
    import grimp

    graph = grimp.build_graph("alliance", cache_dir=None)
    cycles = [
        (module, other)
        for module in sorted(graph.modules)
        for other in graph.find_modules_directly_imported_by(module)
        if other != module and graph.chain_exists(importer=other, imported=module)
    ]
    assert cycles == []
