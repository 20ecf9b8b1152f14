"""Every environment variable the code reads is documented, and every documented one is read.

The code is scanned (with ``ast``) for reads of the environment: ``os.environ.get``,
``os.environ[...]``, ``os.getenv``, the strict readers of ``alliance.web.env`` and typer's
``envvar=``. The documentation is the README's settings table and docs/operations.md. A new
variable without a row fails the first test; a row for a variable nothing reads any more (a
renamed or removed setting) fails the second.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "alliance"
README = REPO / "README.md"
OPERATIONS = REPO / "docs" / "operations.md"

ENV_READERS = {"envbool", "envint", "envstr", "envchoice", "envlist", "getenv"}
# Names the process environment holds for every program; not settings of ours.
NOT_SETTINGS = {"PATH", "PYTHONPATH", "LANG", "TMPDIR", "DJANGO_SETTINGS_MODULE"}
DOC_NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, so ``os.environ.get(PASSWORD_ENV)`` counts."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _is_environ(node: ast.expr) -> bool:
    """``os.environ``, ``environ`` or a mapping parameter named ``env``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id in ("environ", "env")


def _name_of(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _reads(tree: ast.Module) -> set[str]:
    constants = _constants(tree)
    names: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if node.args and (
                called in ENV_READERS
                or (isinstance(func, ast.Attribute) and called == "get" and _is_environ(func.value))
            ):
                names.add(_name_of(node.args[0], constants))
            names.update(_name_of(k.value, constants) for k in node.keywords if k.arg == "envvar")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _is_environ(node.value)
        ):
            names.add(_name_of(node.slice, constants))
    return {n for n in names if n is not None and n not in NOT_SETTINGS}


def read_in_code() -> dict[str, list[str]]:
    """Each variable read from the environment under src/, with the files that read it."""
    where: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for name in _reads(ast.parse(path.read_text("utf-8"))):
            where.setdefault(name, []).append(str(path.relative_to(REPO)))
    return where


def settings_table() -> str:
    """The README's settings table: the ``| variable | meaning |`` block."""
    lines = README.read_text("utf-8").splitlines()
    start = lines.index("| variable | meaning |")
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return "\n".join(table)


def documented() -> set[str]:
    text = settings_table() + "\n" + OPERATIONS.read_text("utf-8")
    return set(DOC_NAME.findall(text))


def test_the_scan_sees_each_kind_of_read() -> None:
    """Guard against a scan that finds nothing and so passes vacuously."""
    found = read_in_code()
    for name in (
        "ALLIANCE_HTTPS",  # envbool in settings
        "ALLIANCE_CONNECTION_LIMIT",  # envint(env=...) in serving
        "DATABASE_URL",  # envstr in settings
        "ALLIANCE_OPERATOR_PASSWORD",  # os.environ.get(PASSWORD_ENV)
        "ALLIANCE_DATA_DIR",  # typer envvar= and os.environ.get in the core
        "ALLIANCE_THREADS",  # os.environ.get in the core
    ):
        assert name in found, name


def test_every_variable_read_in_the_code_is_documented() -> None:
    missing = {name: files for name, files in read_in_code().items() if name not in documented()}
    assert not missing, (
        "document these in README.md's settings table (or docs/operations.md): "
        + "; ".join(
            f"{name} (read in {', '.join(files)})" for name, files in sorted(missing.items())
        )
    )


def test_every_documented_setting_is_read_somewhere() -> None:
    stale = sorted(
        name for name in documented() if name.startswith("ALLIANCE_") and name not in read_in_code()
    )
    assert not stale, f"documented but read nowhere under src/ (stale docs?): {', '.join(stale)}"
