"""The files `alliance outcomes` reads: a scores CSV (the `alliance alerts scan` format, with an
optional ``episode`` column) and an episodes CSV (``client_id[, episode], ended, ending``).

Both are refused whole at the first problem, with its line, so a report never rests on half a
file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np

from alliance.core.alerts.scores_csv import ScoresFileError, parse_rows, read_text
from alliance.core.instruments import Instrument
from alliance.core.outcomes.episodes import Ending
from alliance.core.outcomes.report import EpisodeEnding, ScoreRows

EPISODES_REQUIRED = ("client_id", "ended", "ending")


def read_score_rows(path: Path, instruments: dict[str, Instrument]) -> ScoreRows:
    return parse_score_rows(read_text(path), instruments, origin=str(path))


def parse_score_rows(
    text: str, instruments: dict[str, Instrument], origin: str = "scores"
) -> ScoreRows:
    """Score rows for the outcomes report; a session scored twice on one measure is an error."""
    parsed = parse_rows(text, instruments, origin)
    seen: dict[tuple[str, str, str, int], int] = {}
    for client, episode, instrument, session, line in zip(
        parsed.client_id,
        parsed.episode,
        parsed.instrument,
        parsed.session,
        parsed.line,
        strict=True,
    ):
        key = (client, episode, instrument, session)
        if key in seen:
            raise ScoresFileError(
                f"{origin}: line {line}: {instrument} session {session} of client {client} "
                f"is already on line {seen[key]}"
            )
        seen[key] = line
    return ScoreRows(
        client_id=np.asarray(parsed.client_id, dtype=str),
        episode=np.asarray(parsed.episode, dtype=str),
        session=np.asarray(parsed.session, dtype=np.int64),
        instrument=np.asarray(parsed.instrument, dtype=str),
        total=np.asarray(parsed.total, dtype=np.float64),
        line=np.asarray(parsed.line, dtype=np.int64),
    )


def read_endings(path: Path) -> list[EpisodeEnding]:
    return parse_endings(read_text(path), origin=str(path))


def parse_endings(text: str, origin: str = "episodes") -> list[EpisodeEnding]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in EPISODES_REQUIRED if c not in header]
    if missing:
        raise ScoresFileError(f"{origin}: missing column(s): {', '.join(missing)}")
    reader.fieldnames = header
    endings: list[EpisodeEnding] = []
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        where = f"{origin}: line {reader.line_num}"
        ending = _ending(row, where)
        key = (ending.client_id, ending.episode)
        if key in seen:
            raise ScoresFileError(f"{where}: this episode is already on line {seen[key]}")
        seen[key] = reader.line_num
        endings.append(ending)
    return endings


def _ending(row: dict[str, str | None], where: str) -> EpisodeEnding:
    client = (row.get("client_id") or "").strip()
    if not client:
        raise ScoresFileError(f"{where}: client_id is empty")
    raw = (row.get("ending") or "").strip().lower()
    if raw not in set(Ending):
        allowed = ", ".join(e.value for e in Ending)
        raise ScoresFileError(f"{where}: ending {raw!r} is not one of {allowed}")
    ended_text = (row.get("ended") or "").strip()
    ended = None
    if ended_text:
        try:
            ended = dt.date.fromisoformat(ended_text)
        except ValueError:
            raise ScoresFileError(f"{where}: ended {ended_text!r} is not YYYY-MM-DD") from None
    return EpisodeEnding(
        client_id=client,
        episode=(row.get("episode") or "").strip(),
        ending=Ending(raw),
        ended=ended,
    )
