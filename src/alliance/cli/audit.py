"""``alliance audit verify``: check the web app's audit trail hash chain, oldest event first."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli._common import JsonOption, fail, print_json

if TYPE_CHECKING:  # Django loads only inside the command, so the rest of the CLI starts quickly
    from alliance.web.audit.verify import ChainReport

audit_app = typer.Typer(help="The web app's audit trail (DATABASE_URL picks the database).")

EXIT_BROKEN = 1
AnchorOption = Annotated[
    str | None,
    typer.Option(
        "--anchor",
        metavar="EVENT_ID:HASH",
        help="A head kept from an earlier verify: fail unless the chain still passes through it.",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(as_json: JsonOption = False, anchor: AnchorOption = None) -> None:
    """Report the first broken link in the audit chain (exit 1), or that it is intact (exit 0).

    Keep the printed head somewhere the database is not, and pass it back with --anchor later:
    a chain rewritten from the start verifies on its own, but no longer passes through it."""
    kept = _parse_anchor(anchor) if anchor is not None else None
    from alliance.cli.web import _django

    _django()
    from django.db import DatabaseError

    from alliance.web.audit.verify import verify_chain

    _require_database()
    try:
        report = verify_chain(anchor=kept)
    except DatabaseError as exc:
        fail(f"cannot read the audit trail ({str(exc).strip()}); has `alliance serve` migrated it?")
    if as_json:
        print_json(report.to_dict())
    else:
        _print_text(report)
    if report.first_break is not None:
        raise typer.Exit(EXIT_BROKEN)


def _print_text(report: ChainReport) -> None:
    brk = report.first_break
    if brk is None:
        typer.echo(f"audit chain intact: {report.events} events")
        if report.last_at is not None:
            typer.echo(
                f"head: {report.last_id}:{report.last_hash} "
                f"(event {report.last_id}, {report.last_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
        return
    when = f" ({brk.at:%Y-%m-%d %H:%M:%S} UTC)" if brk.at else ""
    typer.echo(f"audit chain broken at event {brk.event_id}{when}: {brk.kind}: {brk.detail}")
    typer.echo(f"{report.events} events before it are intact")


def _parse_anchor(value: str) -> tuple[int, str]:
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", value.strip().lower())
    if match is None:
        fail(f"--anchor must be EVENT_ID:HASH (a head printed by an earlier verify), not {value!r}")
    return int(match.group(1)), match.group(2)


def _require_database() -> None:
    """Refuse a SQLite path that does not exist, rather than create an empty database there."""
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and name != ":memory:" and not Path(name).exists():
        fail(f"no database at {name} (set DATABASE_URL)")
