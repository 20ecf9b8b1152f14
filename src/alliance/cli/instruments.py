"""``alliance instruments``: list, show and supply licensed wording for instruments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from alliance.cli._common import (
    DataDirOption,
    JsonOption,
    clean_errors,
    echo_lines,
    fail,
    print_json,
)
from alliance.core.instruments import Instrument
from alliance.core.registry import Registry

instruments_app = typer.Typer(
    help="List the bundled instruments, show one, or supply licensed item wording.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(instruments_app, name="instruments")


def summary(instrument: Instrument) -> dict[str, Any]:
    return {
        "id": instrument.id,
        "title": instrument.title,
        "kind": instrument.kind,
        "items": len(instrument.items),
        "licence": instrument.status,
        "status": instrument.availability,
        "project_authored": instrument.project_authored,
        "validated": instrument.validated,
    }


def detail(instrument: Instrument) -> dict[str, Any]:
    info = summary(instrument)
    info.update(
        version=instrument.version,
        construct=instrument.construct,
        copyright=instrument.licence,
        instructions=instrument.instructions,
        scoring={
            "method": instrument.scoring_method,
            "higher_is_better": instrument.higher_is_better,
            "max_missing": instrument.max_missing,
            "missing_method": instrument.missing_method,
        },
        response_options=[o.__dict__ for o in instrument.options],
        response_range=instrument.response_range.__dict__ if instrument.response_range else None,
        item_list=[i.__dict__ for i in instrument.items],
        subscales=dict(instrument.subscales),
        bands=[b.__dict__ for b in instrument.bands],
        risk_items=[r.__dict__ for r in instrument.risk_rules],
        caseness=instrument.caseness.__dict__ if instrument.caseness else None,
        reliable_change=instrument.reliable_change.__dict__ if instrument.reliable_change else None,
        alliance=instrument.alliance.__dict__ if instrument.alliance else None,
        loinc={"panel": instrument.loinc_panel, "total": instrument.loinc_total},
        sources=instrument.sources,
    )
    return info


@instruments_app.callback()
def list_instruments(
    ctx: typer.Context, as_json: JsonOption = False, data_dir: DataDirOption = None
) -> None:
    """List instruments with their status (ready, or needs licensed text)."""
    if ctx.invoked_subcommand is not None:
        return
    rows = [summary(i) for i in Registry(data_dir).all()]
    if as_json:
        print_json(rows)
        return
    lines = [f"{'ID':<20} {'ITEMS':>5}  {'STATUS':<20} TITLE"]
    for row in rows:
        note = " [project-authored, unvalidated]" if row["project_authored"] else ""
        lines.append(f"{row['id']:<20} {row['items']:>5}  {row['status']:<20} {row['title']}{note}")
    echo_lines(lines)


@instruments_app.command("show")
def show(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id, e.g. phq9.")],
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Show an instrument's items, options, scoring rules and sources."""
    with clean_errors():
        instrument = Registry(data_dir).get(instrument_id)
    if as_json:
        print_json(detail(instrument))
        return
    echo_lines(_describe(instrument))


def _describe(instrument: Instrument) -> list[str]:
    lines = [
        f"{instrument.title} ({instrument.id} v{instrument.version})",
        f"Status: {instrument.availability}",
    ]
    if instrument.project_authored:
        lines.append("Project-authored, unvalidated measure (CC0).")
    lines.append(f"Copyright: {instrument.licence}")
    if instrument.instructions:
        lines += ["", instrument.instructions]
    lines.append("")
    for n, item in enumerate(instrument.items, start=1):
        reverse = " (reverse-keyed)" if item.reverse else ""
        lines.append(f"{n:>2}. [{item.id}] {item.text or '(licensed text not supplied)'}{reverse}")
    if instrument.options:
        lines.append("Answers: " + ", ".join(f"{o.value} = {o.label}" for o in instrument.options))
    if instrument.response_range:
        r = instrument.response_range
        lines.append(f"Answers: {r.min}-{r.max} in steps of {r.step}")
    lines.append(
        f"Scoring: {instrument.scoring_method}; up to {instrument.max_missing} missing items"
    )
    if instrument.bands:
        lines.append("Bands: " + ", ".join(f"{b.label} >= {b.min}" for b in instrument.bands))
    if instrument.caseness:
        c = instrument.caseness
        lines.append(f"Caseness: {c.case_when.replace('_', ' ')} {c.threshold}")
    if instrument.reliable_change and instrument.reliable_change.threshold:
        lines.append(f"Reliable change: {instrument.reliable_change.threshold} points")
    lines += ["", "Sources:"] + [f"  [{k}] {v}" for k, v in instrument.sources.items()]
    return lines


@instruments_app.command("add-text")
def add_text(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="A licensed instrument id.")],
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="JSON/YAML item texts or a FHIR Questionnaire.")
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Supply licensed item wording so a licensed instrument can be administered."""
    with clean_errors():
        instrument = Registry(data_dir).add_text(instrument_id, file)
    typer.echo(f"{instrument.id}: stored wording for {len(instrument.items)} items; status: ready")


def _sources(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip() or not text.strip():
            fail(f"--source {pair!r}: expected KEY=CITATION")
        found[key.strip()] = text.strip()
    return found


@instruments_app.command("import-fhir")
def import_fhir(
    file: Annotated[
        Path, typer.Argument(metavar="QUESTIONNAIRE", help="FHIR R4 Questionnaire JSON.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the YAML here, not to stdout.")
    ] = None,
    instrument_id: Annotated[str | None, typer.Option("--id", help="Instrument id.")] = None,
    kind: Annotated[str | None, typer.Option(help="outcome, alliance or satisfaction.")] = None,
    version: Annotated[str | None, typer.Option(help="The instrument's version.")] = None,
    status: Annotated[str | None, typer.Option(help="public or licensed wording.")] = None,
    licence: Annotated[str | None, typer.Option(help="Licence or copyright text.")] = None,
    scoring: Annotated[str | None, typer.Option(help="Total: sum or mean of items.")] = None,
    higher_is_better: Annotated[
        bool | None,
        typer.Option("--higher-is-better/--lower-is-better", help="Which way is better."),
    ] = None,
    max_missing: Annotated[
        int | None, typer.Option(min=0, help="Missing items prorated (0: none allowed).")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=CITATION", help="A source for the rules (repeatable)."),
    ] = None,
) -> None:
    """Turn a FHIR Questionnaire into an instrument YAML file.

    Items, answer scores and LOINC codes come from the Questionnaire; scoring rules it lacks
    must be given as options (the error names them). Items without scored answers are left out.
    """
    from alliance.core.fhir.importer import (
        ImportChoices,
        definition_from_questionnaire,
        read_questionnaire,
    )

    choices = ImportChoices(
        id=instrument_id,
        kind=kind,
        version=version,
        status=status,
        licence=licence,
        scoring=scoring,
        higher_is_better=higher_is_better,
        max_missing=max_missing,
        sources=_sources(source or []),
    )
    with clean_errors():
        result = definition_from_questionnaire(read_questionnaire(file), choices)
        text = yaml.safe_dump(result.definition, sort_keys=False, allow_unicode=True, width=100)
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, "utf-8")
    for link in result.skipped:
        typer.echo(f"note: left out item {link}: its answers carry no scores", err=True)
    if output is not None:
        items = len(result.definition["items"])
        typer.echo(f"{result.definition['id']}: {items} items written to {output}", err=True)
