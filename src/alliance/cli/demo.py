"""``alliance demo``: a short tour of the measurement core on a synthetic client."""

from __future__ import annotations

import typer

from alliance.cli.scoring import change_text, score_text
from alliance.core.change import classify_change
from alliance.core.registry import Registry
from alliance.core.scoring import score

# A synthetic client (not a real person): PHQ-9 answers at intake, mid-treatment and discharge.
DEMO_PHQ9 = {
    "intake": [3, 3, 2, 2, 1, 2, 2, 1, 1],
    "session 4": [2, 2, 2, 1, 1, 1, 1, 1, 0],
    "discharge": [1, 1, 1, 1, 0, 1, 0, 0, 0],
}


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)


def demo_command() -> None:
    """Score a synthetic client's PHQ-9 over treatment and classify the change."""
    registry = Registry()
    phq9 = registry.get("phq9")
    typer.echo("alliance demo: a synthetic client's PHQ-9 over treatment\n")
    totals = []
    for label, answers in DEMO_PHQ9.items():
        result = score(phq9, answers)
        totals.append(result.total)
        typer.echo(f"{label:>10}: {score_text(result)}")
    assert totals[0] is not None and totals[-1] is not None
    typer.echo("\n" + change_text(classify_change(phq9, totals[0], totals[-1])))
    typer.echo(
        "\nTry: alliance instruments | alliance score gad7 2 2 1 1 0 0 1 --json | alliance --help"
    )
