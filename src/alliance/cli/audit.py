"""``alliance audit verify``: check the web app's audit trail hash chain, oldest event first."""

from __future__ import annotations

import typer

from alliance.cli._common import JsonOption, print_json

audit_app = typer.Typer(help="The web app's audit trail (DATABASE_URL picks the database).")

EXIT_BROKEN = 1


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Report the first broken link in the audit chain (exit 1), or that it is intact (exit 0).

    Keep the printed head hash somewhere the database is not: a chain rewritten from the start
    verifies again, but no longer ends at the hash you kept."""
    from alliance.cli.web import _django

    _django()
    from alliance.web.audit.verify import verify_chain

    report = verify_chain()
    if as_json:
        print_json(report.to_dict())
    elif report.first_break is None:
        typer.echo(f"audit chain intact: {report.events} events")
        if report.last_id is not None:
            typer.echo(
                f"head: event {report.last_id} at {report.last_at:%Y-%m-%d %H:%M:%S} UTC, hash {report.last_hash}"
            )
    else:
        brk = report.first_break
        when = f" ({brk.at:%Y-%m-%d %H:%M:%S} UTC)" if brk.at else ""
        typer.echo(f"audit chain broken at event {brk.event_id}{when}: {brk.kind}: {brk.detail}")
        typer.echo(f"{report.events} events before it are intact")
    if report.first_break is not None:
        raise typer.Exit(EXIT_BROKEN)
