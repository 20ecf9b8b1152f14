"""CLI: ``alliance analyze``, ``alliance empathy``, ``alliance models [enable|disable]``.

Thin wrappers over ``alliance.core.transcripts``; bad input gives one line on stderr and exit 2.
Whether the research pack (non-commercial research only) is on is kept per user in
``packs.json`` in typer's app folder (``~/.config/alliance/`` on Linux, ``$XDG_CONFIG_HOME``
respected), written only by ``alliance models enable research`` after the terms are accepted.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from alliance.cli._common import clean_errors, fail
from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.packs import PACKS, RESEARCH, RESEARCH_OFF_NOTE

CHUNK = 16
FORMAT_HELP = "Input format (default: detected from content)."


class OutFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    html = "html"


class InFormat(StrEnum):
    vtt = "vtt"
    srt = "srt"
    text = "text"
    json = "json"
    csv = "csv"


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _rows_out(rows: list[dict[str, Any]], fmt: OutFormat) -> str:
    if fmt == OutFormat.jsonl:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def analyze(
    files: Annotated[list[Path], typer.Argument(help="Transcript file(s).")],
    format: Annotated[
        OutFormat | None,
        typer.Option(
            "--format", "-f", help="Report format (text for one transcript, csv for many)."
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    input_format: Annotated[
        InFormat | None, typer.Option("--input-format", help=FORMAT_HELP)
    ] = None,
    counselor: Annotated[
        str | None,
        typer.Option("--counselor", help="Name of the counselor speaker (overrides inference)."),
    ] = None,
    text: Annotated[
        bool, typer.Option("--text/--no-text", help="Include utterance text in csv/jsonl rows.")
    ] = False,
) -> None:
    """Code a session transcript's counselor skills and client talk, with metrics."""
    from alliance.cli.audio import read_any
    from alliance.core.transcripts import report
    from alliance.core.transcripts.analysis import analyze_all
    from alliance.core.transcripts.encoder import DIALOGUE_TOKENS, get_encoder

    with clean_errors():
        transcripts = [
            t for f in files for t in read_any(f, input_format.value if input_format else None)
        ]
        many = len(transcripts) > 1
        fmt = format or (OutFormat.csv if many else OutFormat.text)
        if many and fmt in (OutFormat.text, OutFormat.html):
            fail(f"{len(transcripts)} transcripts: use --format csv, jsonl or json")
        encoder = get_encoder(max_tokens=DIALOGUE_TOKENS)
        research = research_enabled()
        analyses = []
        chunks = [transcripts[i : i + CHUNK] for i in range(0, len(transcripts), CHUNK)]
        with typer.progressbar(
            length=sum(len(t.utterances) for t in transcripts),
            label="coding utterances",
            file=sys.stderr,
            hidden=len(chunks) < 2,
        ) as bar:
            for chunk in chunks:
                analyses += analyze_all(chunk, counselor, encoder, research)
                bar.update(sum(len(t.utterances) for t in chunk))
        if not research:
            typer.echo(f"note: {RESEARCH_OFF_NOTE}", err=True)
        for a in analyses:
            for w in a.warnings:
                typer.echo(f"warning: {a.transcript.transcript_id}: {w}", err=True)
        if fmt == OutFormat.text:
            out = report.to_text(analyses[0])
        elif fmt == OutFormat.html:
            out = report.to_html(analyses[0])
        elif fmt == OutFormat.json:
            docs = [a.to_dict() for a in analyses]
            out = json.dumps(docs if many else docs[0], indent=2, ensure_ascii=False) + "\n"
        else:
            out = _rows_out([r for a in analyses for r in report.utterance_rows(a, text)], fmt)
        _write(out, output)


def empathy(
    pairs: Annotated[Path, typer.Argument(help="CSV with seeker_post, response_post columns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output CSV.")],
) -> None:
    """Add EPITOME empathy levels (0/1/2) to (seeker_post, response_post) rows."""
    from alliance.core.transcripts.empathy import score_pairs
    from alliance.core.transcripts.readers import _read_bytes, decode_bytes

    if not research_enabled():
        fail(RESEARCH_OFF_NOTE)
    with clean_errors():
        text, warnings = decode_bytes(_read_bytes(pairs))
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
        try:
            rows = list(csv.DictReader(io.StringIO(text)))
        except csv.Error as exc:
            raise TranscriptError(f"malformed CSV: {exc}") from None
        scored = score_pairs(rows, research=True)
        output.write_text(_rows_out(scored, OutFormat.csv), encoding="utf-8")


def state_file() -> Path:
    """The user's pack settings file (the research pack's on/off switch for the CLI)."""
    return Path(typer.get_app_dir("alliance")) / "packs.json"


def research_enabled() -> bool:
    """True only if this user turned the research pack on (``alliance models enable``)."""
    try:
        state = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and state.get(RESEARCH) is True


def _save_state(on: bool) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({RESEARCH: on}) + "\n", encoding="utf-8")


models_app = typer.Typer(
    help="Model packs: list them (state, terms, figures), enable or disable the research pack.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@models_app.callback()
def models(ctx: typer.Context) -> None:
    """Show both model packs (state, terms) and their cards (data, licence, metrics, limits)."""
    if ctx.invoked_subcommand is None:
        from alliance.core.audio.models import render_cards as audio_cards
        from alliance.core.transcripts.cards import render_cards

        typer.echo(render_cards(frozenset({RESEARCH}) if research_enabled() else frozenset()))
        typer.echo(audio_cards())


def _opt_in(pack: str) -> None:
    if pack not in PACKS:
        fail(f"unknown pack {pack!r}: choose from {', '.join(PACKS)}")
    if not PACKS[pack].opt_in:
        fail(f"the {pack} pack is always on")


@models_app.command("enable")
def enable(
    pack: Annotated[str, typer.Argument(help="The opt-in pack: research.")],
    accept_terms: Annotated[
        bool, typer.Option("--accept-terms", help="Accept the pack's terms without a prompt.")
    ] = False,
) -> None:
    """Turn an opt-in pack on for this user, after showing its terms and getting consent."""
    _opt_in(pack)
    typer.echo(f"{pack} pack: {PACKS[pack].title}\nterms: {PACKS[pack].terms}")
    if not accept_terms and not typer.confirm("Do you accept these terms?", default=False):
        fail(f"the {pack} pack stays off (terms not accepted)")
    _save_state(True)
    typer.echo(f"{pack} pack on (in {state_file()}); `alliance models disable {pack}` turns it off")


@models_app.command("disable")
def disable(pack: Annotated[str, typer.Argument(help="The opt-in pack: research.")]) -> None:
    """Turn an opt-in pack off for this user."""
    _opt_in(pack)
    _save_state(False)
    typer.echo(f"{pack} pack off")


def register(app: typer.Typer) -> None:
    """Add the transcript commands to the ``alliance`` app."""
    app.command("analyze")(analyze)
    app.command("empathy")(empathy)
    app.add_typer(models_app, name="models")
