"""A clinic's outcomes report from plain score rows: what `alliance outcomes` prints and the web
page shows.

The rows are whatever a clinic has (a scores CSV, the web app's administrations): one row per
administration with client, episode, session, instrument and total (NaN when unscorable). The
set of episodes is every (client, episode) in the rows or in the endings, so an episode that
ended with no scores still counts against completeness.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from alliance.core.instruments import Instrument
from alliance.core.outcomes.episodes import (
    JOINT,
    Ending,
    EpisodeOutcome,
    episode_outcomes,
    joint_outcome,
)
from alliance.core.outcomes.model import (
    AllianceOutcome,
    AllianceRows,
    NotEnoughData,
    alliance_outcome,
)
from alliance.core.outcomes.published import PUBLISHED, Published
from alliance.core.outcomes.summary import (
    Attendance,
    Dropout,
    Satisfaction,
    Summary,
    attendance,
    dropout,
    satisfaction,
    summarise,
)
from alliance.core.outcomes.trajectory import TrajectoryPoint, mean_trajectory

ALLIANCE_PREFERENCE = ("alliance_check", "srs", "wai_sr")  # when several are present and tie
_SEP = "\x1f"


@dataclass(frozen=True)
class ScoreRows:
    """Parallel columns, one row per administration (``line``: where each came from, if a file)."""

    client_id: NDArray[np.str_]
    episode: NDArray[np.str_]
    session: NDArray[np.int64]
    instrument: NDArray[np.str_]
    total: NDArray[np.float64]
    line: NDArray[np.int64] | None = None

    @classmethod
    def of(
        cls,
        client_id: Sequence[str],
        episode: Sequence[str],
        session: Sequence[int],
        instrument: Sequence[str],
        total: Sequence[float],
    ) -> ScoreRows:
        return cls(
            np.asarray(client_id, dtype=str),
            np.asarray(episode, dtype=str),
            np.asarray(session, dtype=np.int64),
            np.asarray(instrument, dtype=str),
            np.asarray(total, dtype=np.float64),
        )

    @property
    def size(self) -> int:
        return int(self.session.shape[0])

    def keys(self) -> NDArray[np.str_]:
        """One string per row naming its episode (client and episode id)."""
        return np.char.add(np.char.add(self.client_id, _SEP), self.episode)


@dataclass(frozen=True)
class EpisodeEnding:
    """How and when one episode ended."""

    client_id: str
    episode: str
    ending: Ending
    ended: dt.date | None = None


@dataclass(frozen=True)
class OutcomesReport:
    outcome_instrument: str
    alliance_instrument: str | None
    episodes: list[EpisodeOutcome]
    summary: dict[str, Summary]
    alliance_outcome: AllianceOutcome | NotEnoughData | None
    trajectory: list[TrajectoryPoint]
    attendance: Attendance
    dropout: Dropout | None
    satisfaction: Satisfaction | None
    published: dict[str, Published] = field(default_factory=lambda: dict(PUBLISHED))

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``alliance outcomes --json`` (rates as fractions 0-1)."""
        fitted = (
            self.alliance_outcome if isinstance(self.alliance_outcome, AllianceOutcome) else None
        )
        return {
            "episodes": [_episode_dict(o) for o in self.episodes],
            "summary": {name: s.to_dict() for name, s in self.summary.items()},
            "alliance_outcome": None if fitted is None else fitted.to_dict(),
            "alliance_outcome_note": (
                None if self.alliance_outcome is None else self.alliance_outcome.sentence
            ),
            "outcome_instrument": self.outcome_instrument,
            "alliance_instrument": self.alliance_instrument,
            "trajectory": [p.to_dict() for p in self.trajectory],
            "attendance": self.attendance.to_dict(),
            "dropout": None if self.dropout is None else self.dropout.to_dict(),
            "satisfaction": None if self.satisfaction is None else self.satisfaction.to_dict(),
            "published": {name: p.to_dict() for name, p in self.published.items()},
        }


EPISODE_FIELDS = (
    "client_id",
    "episode",
    "instrument",
    "first",
    "last",
    "n_scores",
    "paired",
    "change",
    "case_at_start",
    "recovered",
    "reliably_recovered",
    "first_session",
    "last_session",
)


def _episode_dict(outcome: EpisodeOutcome) -> dict[str, Any]:
    return {name: getattr(outcome, name) for name in EPISODE_FIELDS}


def report(
    rows: ScoreRows,
    instruments: dict[str, Instrument],
    endings: Sequence[EpisodeEnding] | None = None,
    outcome: str = "phq9",
    alliance: str | None = None,
    *,
    seed: int = 0,
    trajectory_min_n: int = 5,
) -> OutcomesReport:
    """Everything the outcomes report shows, for the episodes in ``rows`` and ``endings``."""
    keys = rows.keys()
    ending_keys = [f"{e.client_id}{_SEP}{e.episode}" for e in endings or ()]
    universe = np.unique(np.concatenate((keys, np.asarray(ending_keys, dtype=str))))
    measures = _outcome_measures(rows, instruments)
    outcomes: list[EpisodeOutcome] = []
    by_measure: dict[str, dict[str, EpisodeOutcome]] = {}
    for measure in measures:
        found = _measure_outcomes(rows, instruments[measure], universe)
        by_measure[measure] = found
        outcomes.extend(found.values())
    if "phq9" in by_measure and "gad7" in by_measure:
        for key in universe.tolist():
            joint = joint_outcome(by_measure["phq9"][key], by_measure["gad7"][key])
            if joint is not None:
                outcomes.append(joint)
    outcomes.sort(key=lambda o: (o.client_id, o.episode, o.instrument))
    summary = {
        name: summarise(outcomes, name, seed=seed)
        for name in [*measures, *([JOINT] if "phq9" in by_measure and "gad7" in by_measure else [])]
    }
    chosen_alliance = alliance or _alliance_instrument(rows, instruments)
    return OutcomesReport(
        outcome_instrument=outcome,
        alliance_instrument=chosen_alliance,
        episodes=outcomes,
        summary=summary,
        alliance_outcome=(
            None
            if chosen_alliance is None
            else alliance_outcome(
                alliance_rows(rows, keys, chosen_alliance, outcome),
                chosen_alliance,
                outcome,
                higher_is_better=instruments[outcome].higher_is_better
                if outcome in instruments
                else None,
            )
        ),
        trajectory=_trajectory(rows, outcome, trajectory_min_n),
        attendance=_attendance(rows, keys, universe),
        dropout=None if endings is None else dropout([e.ending for e in endings]),
        satisfaction=_satisfaction(
            rows, keys, instruments, None if endings is None else len(endings)
        ),
    )


def _outcome_measures(rows: ScoreRows, instruments: dict[str, Instrument]) -> list[str]:
    """Outcome instruments in the rows that have a reliable-change criterion, in a fixed order."""
    present = set(np.unique(rows.instrument).tolist())
    return sorted(
        name
        for name in present
        if name in instruments
        and instruments[name].kind == "outcome"
        and instruments[name].reliable_change is not None
    )


def _measure_outcomes(
    rows: ScoreRows,
    instrument: Instrument,
    universe: NDArray[np.str_],
) -> dict[str, EpisodeOutcome]:
    mask = rows.instrument == instrument.id
    found = episode_outcomes(
        instrument, rows.client_id[mask], rows.episode[mask], rows.session[mask], rows.total[mask]
    )
    by_key = {f"{o.client_id}{_SEP}{o.episode}": o for o in found}
    for key in universe.tolist():
        if key not in by_key:
            client_id, episode = key.split(_SEP, 1)
            by_key[key] = EpisodeOutcome(
                client_id, episode, instrument.id, None, None, 0, False, None, None, None, None
            )
    return by_key


def _alliance_instrument(rows: ScoreRows, instruments: dict[str, Instrument]) -> str | None:
    names, counts = np.unique(rows.instrument, return_counts=True)
    candidates = [
        (int(c), -ALLIANCE_PREFERENCE.index(n) if n in ALLIANCE_PREFERENCE else -99, str(n))
        for n, c in zip(names.tolist(), counts.tolist(), strict=True)
        if n in instruments and instruments[n].kind == "alliance"
    ]
    return max(candidates)[2] if candidates else None


def alliance_rows(
    rows: ScoreRows, keys: NDArray[np.str_], alliance: str, outcome: str
) -> AllianceRows:
    """Join each episode's alliance and outcome totals by session number."""
    a_mask, y_mask = rows.instrument == alliance, rows.instrument == outcome
    both = a_mask | y_mask
    _, episode = np.unique(keys[both], return_inverse=True)
    session = rows.session[both]
    composite = episode.astype(np.int64) * (int(session.max(initial=0)) + 1) + session
    cells, cell = np.unique(composite, return_inverse=True)
    alliance_total = np.full(cells.shape[0], np.nan)
    outcome_total = np.full(cells.shape[0], np.nan)
    is_alliance = a_mask[both]
    alliance_total[cell[is_alliance]] = rows.total[both][is_alliance]
    outcome_total[cell[~is_alliance]] = rows.total[both][~is_alliance]
    width = int(session.max(initial=0)) + 1
    return AllianceRows(
        episode=cells // width,
        session=cells % width,
        alliance=alliance_total,
        outcome=outcome_total,
    )


def _trajectory(rows: ScoreRows, outcome: str, min_n: int) -> list[TrajectoryPoint]:
    mask = rows.instrument == outcome
    return mean_trajectory(rows.session[mask], rows.total[mask], min_n=min_n)


def _attendance(rows: ScoreRows, keys: NDArray[np.str_], universe: NDArray[np.str_]) -> Attendance:
    """Distinct session numbers with any administration, per episode (0 for none)."""
    episode = np.searchsorted(universe, keys).astype(np.int64)
    width = int(rows.session.max(initial=0)) + 1
    cells = np.unique(episode * width + rows.session)
    return attendance(np.bincount(cells // width, minlength=universe.shape[0]).tolist())


def _satisfaction(
    rows: ScoreRows,
    keys: NDArray[np.str_],
    instruments: dict[str, Instrument],
    ended: int | None,
) -> Satisfaction | None:
    names = [
        n
        for n in np.unique(rows.instrument).tolist()
        if n in instruments and instruments[n].kind == "satisfaction"
    ]
    if not names:
        return None
    instrument = instruments[names[0]]
    mask = (rows.instrument == instrument.id) & np.isfinite(rows.total)
    k, s, t = keys[mask], rows.session[mask], rows.total[mask]
    order = np.lexsort((s, k))
    k, t = k[order], t[order]
    last = np.r_[k[1:] != k[:-1], True] if k.size else np.array([], dtype=bool)
    return satisfaction(instrument, t[last].tolist(), ended)
