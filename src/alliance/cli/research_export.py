"""``alliance export research``: a clinic's de-identified research export (DATABASE_URL).

Thin over ``alliance.web.interop.research_export``. ``register`` adds the command to the
``export`` group another module made, or makes that group when none has.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli._common import JsonOption, clean_errors, fail, print_json
from alliance.cli.web import acting_user, open_web_database

if TYPE_CHECKING:
    pass

GROUP = "export"


def register(app: typer.Typer) -> None:
    _export_group(app).command("research")(research)


def _export_group(app: typer.Typer) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == GROUP and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="Data out of the web app.", no_args_is_help=True)
    app.add_typer(group, name=GROUP)
    return group


def research(
    output: Annotated[
        Path, typer.Option("--output", help="Folder for the CSV files and data dictionary.")
    ],
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="The clinic admin or operator exporting (default: the clinic admin, if there "
            "is one).",
        ),
    ] = None,
    clinic: Annotated[
        int | None,
        typer.Option("--clinic", help="Clinic id (operators; an admin exports their own)."),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file", help="Keep pseudonyms stable across exports with this HMAC key file."
        ),
    ] = None,
    days_since_intake: Annotated[
        bool,
        typer.Option(
            "--days-since-intake", help="Days since the client's intake instead of shifted dates."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write de-identified CSV files (episodes, administrations, alerts, transcript metrics)
    and their data dictionary: pseudonymous ids, shifted dates, no names or text."""
    open_web_database()
    from django.core.exceptions import PermissionDenied

    from alliance.web.interop.research_export import ExportRefused, export_research, read_key

    acting = acting_user(user)
    clinic_id = clinic if clinic is not None else acting.clinic_id
    if clinic_id is None:
        fail("an operator names the clinic with --clinic")
    try:
        with clean_errors():
            key = read_key(key_file) if key_file is not None else None
            summary = export_research(
                acting, clinic_id, output, key=key, days_since_intake=days_since_intake
            )
    except (PermissionDenied, ExportRefused) as exc:
        fail(str(exc))
    if as_json:
        print_json(asdict(summary))
        return
    typer.echo(
        f"research export in {output}: {summary.clients} clients, {summary.episodes} episodes, "
        f"{summary.administrations} administrations, {summary.alerts} alerts, "
        f"{summary.transcript_metrics} transcript metrics (data_dictionary.csv says what each "
        "column means)"
    )
