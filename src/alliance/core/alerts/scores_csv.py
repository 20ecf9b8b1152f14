"""Read a CSV of scores (``client_id, session, date, instrument, total, item1..itemN``) into a Frame.

For clinics bringing history from another system. Every problem is reported with its line
number; a file that is not UTF-8, lacks a column or names an unknown instrument is refused whole
so nothing is half-imported. An optional ``episode`` column tells a returning client's episodes
apart: the alert rules then follow each episode as its own series (shown as ``client_id/episode``)
and `alliance outcomes` reports each episode separately (`parse_rows`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alliance.core.alerts.frame import Frame, from_arrays
from alliance.core.errors import AllianceError, InvalidAnswersError
from alliance.core.instruments import Instrument
from alliance.core.scoring import score

REQUIRED = ("client_id", "session", "date", "instrument", "total")
_ITEM_COLUMN = re.compile(r"^item(\d+)$")


class ScoresFileError(AllianceError):
    """The scores CSV cannot be used; the message names the line and column."""


@dataclass(frozen=True)
class ParsedScores:
    """The validated rows of a scores file as parallel lists (episode "" when not given)."""

    client_id: list[str]
    episode: list[str]
    session: list[int]
    instrument: list[str]
    total: list[float]
    items: list[list[float]]
    line: list[int]
    date: list[str] = field(default_factory=list)  # as written ("" when not given)


def read_scores(path: Path, instruments: dict[str, Instrument]) -> Frame:
    """Parse and validate the whole file, then build a frame."""
    return parse_scores(read_text(path), instruments, origin=str(path))


def read_text(path: Path) -> str:
    """The file's text, or a one-line error saying why it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ScoresFileError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ScoresFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def parse_scores(text: str, instruments: dict[str, Instrument], origin: str = "scores") -> Frame:
    rows = parse_rows(text, instruments, origin)
    clients = [
        f"{client}/{episode}" if episode else client
        for client, episode in zip(rows.client_id, rows.episode, strict=True)
    ]
    return from_arrays(
        clients,
        rows.instrument,
        rows.session,
        np.array(rows.total),
        np.array(rows.items, dtype=np.float64),
    )


def parse_rows(
    text: str, instruments: dict[str, Instrument], origin: str = "scores"
) -> ParsedScores:
    """Validate every row; the first problem raises ScoresFileError naming its line."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ScoresFileError(f"{origin}: missing column(s): {', '.join(missing)}")
    reader.fieldnames = header
    item_columns = sorted(
        ((int(m.group(1)), name) for name in header if (m := _ITEM_COLUMN.match(name))),
        key=lambda x: x[0],
    )
    width = max([n for n, _ in item_columns] + [1])
    parsed = ParsedScores([], [], [], [], [], [], [])
    for row in reader:
        line = reader.line_num
        client, instrument_id, session, total, answers = _parse_row(
            row, line, origin, instruments, item_columns, width
        )
        parsed.client_id.append(client)
        parsed.episode.append((row.get("episode") or "").strip())
        parsed.instrument.append(instrument_id)
        parsed.session.append(session)
        parsed.total.append(total)
        parsed.items.append(answers)
        parsed.line.append(line)
        parsed.date.append((row.get("date") or "").strip())
    if not parsed.client_id:
        raise ScoresFileError(f"{origin}: no rows")
    return parsed


def _parse_row(
    row: dict[str, str | None],
    line: int,
    origin: str,
    instruments: dict[str, Instrument],
    item_columns: list[tuple[int, str]],
    width: int,
) -> tuple[str, str, int, float, list[float]]:
    where = f"{origin}: line {line}"
    client = (row.get("client_id") or "").strip()
    if not client:
        raise ScoresFileError(f"{where}: client_id is empty")
    instrument_id = (row.get("instrument") or "").strip().lower()
    instrument = instruments.get(instrument_id)
    if instrument is None:
        raise ScoresFileError(f"{where}: unknown instrument {instrument_id!r}")
    session = _whole_number(row.get("session"), f"{where}: session")
    _check_date(row.get("date"), where)
    answers = [np.nan] * width
    for number, column in item_columns:
        raw = (row.get(column) or "").strip()
        if raw:
            answers[number - 1] = _number(raw, f"{where}: {column}")
    total = _total(row.get("total"), answers, instrument, where)
    return client, instrument_id, session, total, answers


def _total(raw: str | None, answers: list[float], instrument: Instrument, where: str) -> float:
    text = (raw or "").strip()
    if text:
        return _number(text, f"{where}: total")
    given = answers[: len(instrument.items)]
    if all(np.isnan(a) for a in given):
        return float("nan")  # unscorable here; item rules (risk) still apply
    try:
        result = score(instrument, [None if np.isnan(a) else a for a in given])
    except InvalidAnswersError as exc:
        raise ScoresFileError(f"{where}: {exc}") from exc
    return float("nan") if result.total is None else float(result.total)


def _number(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ScoresFileError(f"{where} {raw!r} is not a number") from None
    if not np.isfinite(value):
        raise ScoresFileError(f"{where} {raw!r} is not a finite number")
    return value


def _whole_number(raw: str | None, where: str) -> int:
    text = (raw or "").strip()
    try:
        value = int(text)
    except ValueError:
        raise ScoresFileError(f"{where} {text!r} is not a whole number") from None
    if value < 0:
        raise ScoresFileError(f"{where} {value} is negative")
    return value


def _check_date(raw: str | None, where: str) -> None:
    text = (raw or "").strip()
    if text:
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            raise ScoresFileError(f"{where}: date {text!r} is not YYYY-MM-DD") from None
