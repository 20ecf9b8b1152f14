"""``alliance export``: the clinic's records in exchange formats (``fhir``: FHIR R4 JSON).

Exports read the web app's database (DATABASE_URL) as one staff user through the access layer,
so an export holds exactly what that user may see, and each is one audit event.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from alliance.cli._common import fail
from alliance.cli.web import acting_user, open_web_database

if TYPE_CHECKING:
    pass

export_app = typer.Typer(
    help="Export the clinic's records (DATABASE_URL picks the database).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")


@export_app.command("fhir")
def fhir_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The JSON file to write.")],
    client: Annotated[
        int | None, typer.Option("--client", help="One client's id (default: every client).")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Export as this staff user (default: the clinic admin, if there is one).",
        ),
    ] = None,
) -> None:
    """Write a FHIR R4 Bundle: Patients, QuestionnaireResponses and score Observations."""
    if not output.parent.is_dir():  # before the export, so a doomed one is not audited
        fail(f"no such directory: {output.parent}")
    open_web_database()
    from django.http import Http404

    from alliance.core.fhir import write_bundle
    from alliance.web.interop.fhir import export_resources, fhir_base

    acting = acting_user(user)
    try:
        resources = export_resources(acting, client)
    except Http404:
        fail(f"no client {client} that {acting.username} may see")
    try:
        with _private(output) as handle:
            written = write_bundle(handle, resources, fhir_base())
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {output}")
    total = sum(written.values())
    typer.echo(f"wrote {output}: {total} resources, {written['Patient']} patients")


def _private(path: Path) -> TextIO:
    """``path`` opened for writing, readable by its owner only: an export holds names and
    answers."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    return os.fdopen(fd, "w", encoding="utf-8")
