"""``alliance ask``: administer an instrument in the terminal and score it at once."""

from __future__ import annotations

from typing import Annotated

import typer

from alliance.cli._common import DataDirOption, JsonOption, clean_errors, print_json
from alliance.cli.scoring import score_text
from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument
from alliance.core.registry import Registry
from alliance.core.scoring import Answer, normalise_answers, parse_answer, score


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)


def ask_command(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id, e.g. gad7.")],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Ask each item in the terminal (for a client at the counselor's computer), then score."""
    with clean_errors():
        instrument = Registry(data_dir).administrable(instrument_id)
    typer.echo(instrument.title)
    if instrument.instructions:
        typer.echo(instrument.instructions)
    if instrument.options:
        typer.echo("  " + "   ".join(f"{o.value} = {o.label}" for o in instrument.options))
    answers = [_ask_item(instrument, n) for n in range(len(instrument.items))]
    with clean_errors():
        result = score(instrument, answers)
    print_json(result.to_dict()) if as_json else typer.echo(score_text(result))


def _ask_item(instrument: Instrument, index: int) -> Answer:
    item = instrument.items[index]
    while True:
        raw = typer.prompt(f"{index + 1}. {item.text}", default="-", show_default=False)
        try:
            value = parse_answer(raw, index + 1)
            probe: list[Answer] = [None] * len(instrument.items)
            probe[index] = value
            normalise_answers(instrument, probe)
            return value
        except InvalidAnswersError as exc:
            typer.echo(f"  {exc}; try again ('-' to skip)", err=True)
