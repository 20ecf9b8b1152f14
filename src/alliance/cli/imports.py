"""``alliance import scores``: a clinic's past scores into the web app (DATABASE_URL).

Thin over ``alliance.web.interop.history_import``; Django loads only inside the command.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from alliance.cli._common import JsonOption, clean_errors, fail, print_json
from alliance.cli.web import open_web_database
from alliance.core.alerts.scores_csv import read_text

import_app = typer.Typer(help="Bring data from another system into the web app.")


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("scores")
def scores(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="SCORES.csv",
            help="client_id, session, date, instrument, total[, item1..itemN][, episode]",
        ),
    ],
    clinic: Annotated[str, typer.Option("--clinic", help="The clinic's id or exact name.")],
    counselor: Annotated[
        str, typer.Option("--counselor", help="User name of the counselor new clients go to.")
    ],
    episodes: Annotated[
        Path | None,
        typer.Option(
            "--episodes",
            metavar="EPISODES.csv",
            help="client_id[, episode], ended, ending: the episodes to close.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; write nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import past scores: clients, episodes, sessions and scores made or matched, then alerts.

    All or nothing: the first bad line refuses the whole file. Running it twice changes nothing."""
    with clean_errors():
        text = read_text(path)
        endings = read_text(episodes) if episodes is not None else None
    open_web_database()
    from alliance.web.interop.history_import import ImportRefused, import_scores

    try:
        counts = import_scores(
            text, clinic, counselor, endings_text=endings, dry_run=dry_run, origin=str(path)
        )
    except ImportRefused as exc:
        fail(str(exc))
    if as_json:
        print_json({"dry_run": dry_run, **asdict(counts)})
        return
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{verb}: {counts.clients_created} new clients ({counts.clients_matched} matched), "
        f"{counts.episodes_created} new episodes ({counts.episodes_closed} closed), "
        f"{counts.sessions_created} new sessions, {counts.administrations_created} new scores "
        f"({counts.administrations_unchanged} already there), {counts.alerts_raised} alerts raised"
    )
