"""The ``alliance`` command line: thin commands over ``alliance.core``.

Each domain registers its commands from its own module, so the CLI grows without
one file knowing every command.
"""

from __future__ import annotations

import typer

from alliance.cli import alerts as _alerts
from alliance.cli import ask as _ask
from alliance.cli import audio as _audio
from alliance.cli import audit as _audit
from alliance.cli import export as _export
from alliance.cli import imports as _imports
from alliance.cli import instruments as _instruments
from alliance.cli import operations as _operations
from alliance.cli import operators as _operators
from alliance.cli import outcomes as _outcomes
from alliance.cli import research_export as _research_export
from alliance.cli import scoring as _scoring
from alliance.cli import tokens as _tokens
from alliance.cli import transcripts as _transcripts
from alliance.cli import web as _web

app = typer.Typer(
    name="alliance",
    help="See and strengthen the therapeutic relationship, session by session.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (
    _instruments,
    _scoring,
    _ask,
    _alerts,
    _outcomes,
    _transcripts,
    _audio,
    _web,
    _operators,
    _audit,
    _operations,
    _tokens,
    _export,
    _imports,
    _research_export,  # after `_export`, which makes the `export` group it joins
):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
