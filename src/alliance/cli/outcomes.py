"""``alliance outcomes``: what a clinic's episodes achieved, and the alliance → outcome link."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from alliance.cli._common import JsonOption, clean_errors, echo_lines, fail, print_json
from alliance.core.instruments import Instrument, bundled_instruments
from alliance.core.outcomes import AllianceOutcome, OutcomesReport, Summary, report
from alliance.core.outcomes.files import read_endings, read_score_rows
from alliance.core.outcomes.report import EPISODE_FIELDS


def register(app: typer.Typer) -> None:
    app.command("outcomes")(outcomes)


def outcomes(
    scores: Annotated[
        Path,
        typer.Argument(
            metavar="SCORES.csv",
            help="client_id, session, date, instrument, total[, item1..itemN][, episode]",
        ),
    ],
    as_json: JsonOption = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print one CSV row per episode and measure.")
    ] = False,
    episodes: Annotated[
        Path | None,
        typer.Option(
            metavar="EPISODES.csv",
            help="client_id[, episode], ended, ending (planned, unplanned, transferred, other).",
        ),
    ] = None,
    outcome: Annotated[
        str, typer.Option(help="Outcome measure for the trajectory and the alliance model.")
    ] = "phq9",
    alliance: Annotated[
        str | None,
        typer.Option(help="Alliance measure for the model (default: the one most used)."),
    ] = None,
) -> None:
    """Recovery, reliable improvement, effect size, dropout and the alliance → outcome model."""
    if as_json and as_csv:
        fail("choose one of --json and --csv")
    instruments = bundled_instruments()
    _check_kind(instruments, outcome, "outcome", "--outcome")
    if alliance is not None:
        _check_kind(instruments, alliance, "alliance", "--alliance")
    with clean_errors():
        rows = read_score_rows(scores, instruments)
        endings = read_endings(episodes) if episodes else None
    with clean_errors():
        result = report(rows, instruments, endings, outcome=outcome, alliance=alliance)
    if as_json:
        print_json(result.to_dict())
    elif as_csv:
        _print_csv(result)
    else:
        echo_lines(_text(result, instruments))


def _check_kind(instruments: dict[str, Instrument], name: str, kind: str, option: str) -> None:
    found = instruments.get(name)
    if found is None or found.kind != kind:
        allowed = ", ".join(sorted(i.id for i in instruments.values() if i.kind == kind))
        fail(f"{option} must be one of {allowed}, not {name!r}")


def _print_csv(result: OutcomesReport) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(EPISODE_FIELDS)
    for o in result.episodes:
        writer.writerow(["" if (v := getattr(o, name)) is None else v for name in EPISODE_FIELDS])


def _text(result: OutcomesReport, instruments: dict[str, Instrument]) -> list[str]:
    lines: list[str] = []
    for name, summary in result.summary.items():
        lines += _summary_lines(name, summary, instruments, result)
    lines += _service_lines(result)
    if result.alliance_outcome is not None:
        lines += ["", "Alliance and outcome", f"  {result.alliance_outcome.sentence}"]
        if isinstance(result.alliance_outcome, AllianceOutcome):
            w, b = result.alliance_outcome.within, result.alliance_outcome.between
            lines.append(
                f"  within {w.estimate:+.2f} [{w.ci_low:+.2f}, {w.ci_high:+.2f}]  "
                f"between {b.estimate:+.2f} [{b.ci_low:+.2f}, {b.ci_high:+.2f}] points per alliance point"
            )
    return lines


def _summary_lines(
    name: str, s: Summary, instruments: dict[str, Instrument], result: OutcomesReport
) -> list[str]:
    title = instruments[name].short_title if name in instruments else name.upper()
    lines = [
        "",
        f"{title}: {s.episodes} episodes, {s.paired} with two or more scores "
        f"({_pct(s.completeness.value)} complete)",
    ]
    for label, key in (
        ("reliable improvement", "reliable_improvement"),
        ("reliable deterioration", "reliable_deterioration"),
        ("recovery", "recovery"),
        ("reliable recovery", "reliable_recovery"),
    ):
        r = getattr(s, key)
        national = result.published.get(key)
        beside = f"   national {_pct(national.value)} ({national.period})" if national else ""
        lines.append(
            f"  {label:<23} {_pct(r.value):>6} [{_pct(r.ci_low)}-{_pct(r.ci_high)}] "
            f"{r.count} of {r.of}{beside}"
        )
    if s.effect_size is not None and s.effect_ci is not None:
        lines.append(
            f"  pre-post effect size    {s.effect_size:.2f} [{s.effect_ci[0]:.2f}-{s.effect_ci[1]:.2f}]"
        )
    return lines


def _service_lines(result: OutcomesReport) -> list[str]:
    a = result.attendance
    lines = ["", f"Attendance: {a.episodes} episodes, median {a.median_sessions} sessions"]
    if result.dropout is not None:
        d = result.dropout
        lines.append(
            f"Dropout: {_pct(d.dropout.value)} of {d.ended} ended episodes ended unplanned"
        )
    if result.satisfaction is not None and result.satisfaction.mean is not None:
        s = result.satisfaction
        lines.append(
            f"Satisfaction: mean {s.mean:.2f} from {s.responses} responses, "
            f"{_pct(s.satisfied.value)} satisfied"
        )
    return lines


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"
