"""``alliance alerts scan``: the alerts each client in a scores CSV would raise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alliance.cli._common import JsonOption, clean_errors, fail, print_json
from alliance.core.alerts import AlertConfig, Finding, NttMethod, evaluate
from alliance.core.alerts.scores_csv import read_scores
from alliance.core.instruments import bundled_instruments

alerts_app = typer.Typer(
    help="Early warnings: risk, alliance ruptures, not on track, deterioration."
)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("scan")
def scan(
    scores: Annotated[
        Path,
        typer.Argument(
            metavar="SCORES.csv", help="client_id, session, date, instrument, total[, item1..itemN]"
        ),
    ],
    as_json: JsonOption = False,
    method: Annotated[
        str,
        typer.Option(
            help="Not-on-track method: etr (expected response) or nn (nearest neighbours)."
        ),
    ] = NttMethod.ETR.value,
    reference: Annotated[
        Path | None,
        typer.Option(help="Scores CSV of completed episodes to fit the expected response from."),
    ] = None,
    no_change_session: Annotated[
        int, typer.Option(help="Flag no reliable change by this administration.")
    ] = 6,
    every: Annotated[
        bool, typer.Option("--every", help="List every administration where a condition holds.")
    ] = False,
) -> None:
    """Print the alerts each client would raise: rule, session and the numbers behind it."""
    if method not in set(NttMethod):
        fail(f"--method must be etr or nn, not {method!r}")
    if no_change_session < 2:
        fail("--no-change-session must be at least 2")
    instruments = bundled_instruments()
    config = AlertConfig(ntt_method=method, no_change_session=no_change_session)
    with clean_errors():
        frame = read_scores(scores, instruments)
        reference_frame = read_scores(reference, instruments) if reference else None
    if method == NttMethod.NN and reference_frame is None:
        fail("--method nn needs --reference with completed episodes")
    findings = evaluate(frame, instruments, config, reference_frame, events_only=not every)
    if as_json:
        print_json([f.to_dict() for f in findings])
    else:
        _print_text(findings, len(frame.clients))


def _print_text(findings: list[Finding], n_clients: int) -> None:
    current = None
    for finding in findings:
        if finding.client_id != current:
            current = finding.client_id
            typer.echo(f"\n{current}")
        typer.echo(
            f"  session {finding.session:>3}  {finding.severity.upper():<7} {finding.rule:<32} {finding.detail}"
        )
    flagged = len({f.client_id for f in findings})
    typer.echo(f"\n{len(findings)} alerts for {flagged} of {n_clients} clients")
