"""Helpers every CLI command shares: clean one-line errors and JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from alliance.core.errors import AllianceError

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="ALLIANCE_DATA_DIR",
        help="Site data directory (licensed instrument text). Default: ~/.local/share/alliance.",
        show_default=False,
    ),
]

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with status 2, without a traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn the core's input errors and unreadable files into one-line messages."""
    try:
        yield
    except AllianceError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def echo_lines(lines: list[str]) -> None:
    typer.echo("\n".join(lines))
