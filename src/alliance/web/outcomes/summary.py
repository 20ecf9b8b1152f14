"""One episode's summary for the client record and, in plain words, for the client.

Change, recovery and bands are the core's (``outcomes.episode_outcome``, the stored score's
band); this module only words them.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from alliance.core import charts
from alliance.core.instruments import Instrument
from alliance.core.outcomes import EpisodeOutcome, Score, episode_outcome
from alliance.web.clinic.models import Administration, AdministrationStatus, Episode
from alliance.web.clinic.services import registry

_CHANGE_WORDS = {
    "improved": "a reliable improvement: a bigger change than the questionnaire's ordinary ups "
    "and downs",
    "no_reliable_change": "within the questionnaire's ordinary ups and downs, so it may not "
    "be a real change",
    "deteriorated": "a reliable worsening: a bigger change than the questionnaire's ordinary "
    "ups and downs, worth talking about",
}
_CHANGE_LABELS = {
    "improved": "Reliable improvement",
    "no_reliable_change": "No reliable change",
    "deteriorated": "Reliable deterioration",
}


@dataclass
class Point:
    session: int
    date: datetime.date
    total: float
    band: str


@dataclass
class Measure:
    instrument: Instrument
    points: list[Point] = field(default_factory=list)
    outcome: EpisodeOutcome | None = None
    chart: str = ""
    words: str = ""
    #: The score at the follow-up some weeks after discharge, kept out of ``points``.
    follow_up: Point | None = None

    @property
    def change_label(self) -> str:
        change = self.outcome.change if self.outcome else None
        return _CHANGE_LABELS.get(change or "", "Not measured twice")

    @property
    def recovery_label(self) -> str:
        o = self.outcome
        if o is None or not o.paired:
            return "–"
        if not o.case_at_start:
            return "Not a case at the start"
        if o.reliably_recovered:
            return "Reliable recovery"
        return "Recovered" if o.recovered else "Not recovered"


def episode_summary_context(episode: Episode) -> dict[str, Any]:
    """The summary page's measures, grouped by kind (one query for the scores)."""
    rows = (
        Administration.objects.filter(
            session__episode=episode, status=AdministrationStatus.COMPLETED, total__isnull=False
        )
        .order_by("session__number")
        .values_list(
            "instrument", "session__number", "session__date", "total", "score", "session__follow_up"
        )
    )
    by_instrument: dict[str, list[Point]] = defaultdict(list)
    later: dict[str, Point] = {}
    for instrument, number, date, total, score, follow_up in rows:
        band = (score or {}).get("severity_label") or ""
        point = Point(number, date, float(total), band)
        if follow_up:  # shown apart: never the episode's last score
            later[instrument] = point
        else:
            by_instrument[instrument].append(point)
    reg = registry()
    chosen = sorted(by_instrument, key=_order)
    measures = [_measure(episode, reg.get(i), by_instrument[i]) for i in chosen]
    for m in measures:
        m.follow_up = later.get(m.instrument.id)
    kinds: dict[str, list[Measure]] = defaultdict(list)
    for m in measures:
        kinds[m.instrument.kind].append(m)
    return {
        "episode": episode,
        "client": episode.client,
        "sessions": episode.sessions.filter(status="attended").count(),
        "outcomes": kinds["outcome"],
        "alliance": kinds["alliance"],
        "satisfaction": kinds["satisfaction"],
    }


def _order(instrument: str) -> tuple[int, str]:
    """PHQ-9, then GAD-7, then the rest by id: the same order on every database."""
    first = ("phq9", "gad7")
    return (first.index(instrument) if instrument in first else len(first), instrument)


def _measure(episode: Episode, instrument: Instrument, points: list[Point]) -> Measure:
    measure = Measure(instrument, points)
    series = [(p.session, p.total) for p in points]
    chart_id = f"chart-{instrument.id}"
    if instrument.kind == "outcome" and instrument.reliable_change is not None:
        measure.outcome = episode_outcome(
            instrument, str(episode.client_id), str(episode.pk), [Score(n, t) for n, t in series]
        )
        measure.chart = charts.trajectory_chart(chart_id, instrument, series)
        measure.words = _outcome_words(measure)
    elif instrument.alliance is not None:
        measure.chart = charts.alliance_chart(chart_id, instrument, series)
    return measure


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _outcome_words(measure: Measure) -> str:
    """The client's version: first and last score with their bands, what the change means."""
    title, points, o = measure.instrument.short_title, measure.points, measure.outcome
    if o is None or not o.paired:
        return f"You filled in the {title} once, so we cannot yet say how it changed."
    first, last = points[0], points[-1]
    said = (
        f"Your {title} score went from {_fmt(first.total)} ({first.band.lower()}) at session "
        f"{first.session} to {_fmt(last.total)} ({last.band.lower()}) at session {last.session}. "
        f"That is {_CHANGE_WORDS[o.change or 'no_reliable_change']}."
    )
    if o.recovered:
        said += " You started in the range where the questionnaire suggests a problem worth "
        said += "treating, and finished below it."
    return said
