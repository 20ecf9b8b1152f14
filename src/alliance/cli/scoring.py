"""``alliance score`` and ``alliance change``: score answers and classify change."""

from __future__ import annotations

from typing import Annotated

import typer

from alliance.cli._common import DataDirOption, JsonOption, clean_errors, fail, print_json
from alliance.core.change import Change, classify_change
from alliance.core.registry import Registry
from alliance.core.scoring import Score, parse_answer, score


def register(app: typer.Typer) -> None:
    app.command("score")(score_command)
    app.command("change")(change_command)


def score_command(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id, e.g. phq9.")],
    answers: Annotated[
        list[str],
        typer.Argument(
            metavar="ANSWER...", help="One answer per item in order; '-' marks a missing answer."
        ),
    ],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Score one administration, e.g. `alliance score phq9 3 3 2 2 1 1 0 0 1`."""
    with clean_errors():
        instrument = Registry(data_dir).get(instrument_id)
        parsed = [parse_answer(raw, n) for n, raw in enumerate(answers, start=1)]
        result = score(instrument, parsed)
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(score_text(result))


def score_text(result: Score) -> str:
    if not result.scorable:
        return f"{result.instrument}: unscorable ({result.reason})" + _risk_text(result)
    parts = [f"{result.instrument}: total {result.total}"]
    if result.severity_label:
        parts.append(f"({result.severity_label})")
    if result.prorated:
        parts.append(f"prorated from {result.answered} of {result.items} items")
    if result.subscales:
        parts.append("; ".join(f"{k} {v}" for k, v in result.subscales.items()))
    return " ".join(parts) + _risk_text(result)


def _risk_text(result: Score) -> str:
    return "".join(f"\nRISK {r.flag}: {r.message} (answer {r.value})" for r in result.risk)


def change_command(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id, e.g. phq9.")],
    before: Annotated[str, typer.Argument(metavar="BEFORE", help="Total at the start.")],
    after: Annotated[str, typer.Argument(metavar="AFTER", help="Total at the end.")],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Classify change between two totals: improved, no reliable change or deteriorated."""
    values = []
    for name, raw in (("BEFORE", before), ("AFTER", after)):
        try:
            values.append(float(raw))
        except ValueError:
            fail(f"{name} ({raw!r}) is not a number")
    with clean_errors():
        instrument = Registry(data_dir).get(instrument_id)
        result = classify_change(instrument, values[0], values[1])
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(change_text(result))


def change_text(result: Change) -> str:
    text = (
        f"{result.instrument}: {result.before:g} -> {result.after:g} "
        f"({result.category.replace('_', ' ')}; reliable change needs {result.threshold:g} points)"
    )
    if result.recovered is not None:
        text += f"; recovered: {'yes' if result.recovered else 'no'}"
        text += f"; reliably recovered: {'yes' if result.reliably_recovered else 'no'}"
    return text
