"""What one episode of care achieved on one outcome measure.

An episode's outcome compares its first and last *scored* administration (an unscorable one, with
too many items missing, does not count) with `alliance.core.change.classify_change`, the rule
`alliance change` uses, so the reliable-change thresholds and caseness cutoffs stay in the
instrument files with their sources. The NHS Talking Therapies manual (v7, 2024, appendix on
measuring recovery) defines:

- *finished a course of treatment*: here, ``paired``: at least two scored administrations;
- *reliable improvement / deterioration*: a change at least the measure's reliable-change
  threshold in the better / worse direction;
- *recovery*: a case at the first score and not a case at the last (null when not a case at the
  start, since such an episode is outside the recovery denominator);
- *reliable recovery*: recovery together with reliable improvement;
- and, when both PHQ-9 and GAD-7 are used, a joint rule (`joint_outcome`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from alliance.core.change import DETERIORATED, IMPROVED, NO_RELIABLE_CHANGE, Change, classify_change
from alliance.core.instruments import Instrument

JOINT = "phq9+gad7"  # the joint instrument id of the NHS Talking Therapies rule
JOINT_PARTS = ("phq9", "gad7")


class Ending(StrEnum):
    """How an episode ended; an unplanned ending is a dropout."""

    PLANNED = "planned"
    UNPLANNED = "unplanned"
    TRANSFERRED = "transferred"
    OTHER = "other"


@dataclass(frozen=True)
class Score:
    """One scored administration of an outcome measure: its session number and total."""

    session: int
    total: float


@dataclass(frozen=True)
class EpisodeOutcome:
    """First-to-last change of one episode on one measure (or the joint PHQ-9 + GAD-7 rule).

    ``first``/``last`` are null when there is no score (and for the joint rule, whose parts each
    have their own); the clinical fields are null when the episode is not ``paired``.
    """

    client_id: str
    episode: str
    instrument: str
    first: float | None
    last: float | None
    n_scores: int
    paired: bool
    change: str | None  # "improved" | "no_reliable_change" | "deteriorated"
    case_at_start: bool | None
    recovered: bool | None
    reliably_recovered: bool | None
    first_session: int | None = None
    last_session: int | None = None
    case_at_end: bool | None = None

    @property
    def reliably_improved(self) -> bool:
        return self.change == IMPROVED

    @property
    def reliably_deteriorated(self) -> bool:
        return self.change == DETERIORATED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def episode_outcome(
    instrument: Instrument, client_id: str, episode: str, scores: Sequence[Score]
) -> EpisodeOutcome:
    """The outcome of one episode from its administrations in any order (NaN totals skipped)."""
    scored = sorted((s for s in scores if math.isfinite(s.total)), key=lambda s: s.session)
    if not scored:
        return _unpaired(instrument.id, client_id, episode, None, None, 0)
    first, last = scored[0], scored[-1]
    if len(scored) < 2:
        return _unpaired(instrument.id, client_id, episode, first, last, 1)
    return _paired(
        client_id,
        episode,
        first,
        last,
        len(scored),
        classify_change(instrument, first.total, last.total),
    )


def episode_outcomes(
    instrument: Instrument,
    client_ids: Sequence[str] | NDArray[np.str_],
    episodes: Sequence[str] | NDArray[np.str_],
    sessions: Sequence[int] | NDArray[np.int64],
    totals: Sequence[float] | NDArray[np.float64],
) -> list[EpisodeOutcome]:
    """`episode_outcome` for every episode in parallel columns of one measure, vectorised.

    Each distinct (first, last) pair is classified once by ``classify_change``, so a clinic's
    hundred thousand episodes cost a few hundred rule calls plus array passes.
    """
    client = np.asarray(client_ids, dtype=str)
    episode = np.asarray(episodes, dtype=str)
    session = np.asarray(sessions, dtype=np.int64)
    total = np.asarray(totals, dtype=np.float64)
    keys, key = np.unique(np.char.add(np.char.add(client, "\x1f"), episode), return_inverse=True)
    scored = np.isfinite(total)
    order = np.lexsort((session, key))
    order = order[scored[order]]
    k, s, t = key[order], session[order], total[order]
    n_scores = np.bincount(k, minlength=len(keys))
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if k.size else np.array([], int)
    ends = np.r_[starts[1:], k.size] - 1 if k.size else np.array([], int)
    has = np.flatnonzero(n_scores > 0)
    first_row = dict(zip(has.tolist(), starts.tolist(), strict=True))
    last_row = dict(zip(has.tolist(), ends.tolist(), strict=True))
    changes = _classified(instrument, t[starts], t[ends], n_scores[has] > 1)
    results = []
    for index, name in enumerate(keys.tolist()):
        client_id, episode_id = name.split("\x1f", 1)
        count = int(n_scores[index])
        if count == 0:
            results.append(_unpaired(instrument.id, client_id, episode_id, None, None, 0))
            continue
        a, b = first_row[index], last_row[index]
        first, last = Score(int(s[a]), float(t[a])), Score(int(s[b]), float(t[b]))
        if count == 1:
            results.append(_unpaired(instrument.id, client_id, episode_id, first, last, 1))
        else:
            change = changes[(first.total, last.total)]
            results.append(_paired(client_id, episode_id, first, last, count, change))
    return results


def _classified(
    instrument: Instrument,
    firsts: NDArray[np.float64],
    lasts: NDArray[np.float64],
    paired: NDArray[np.bool_],
) -> dict[tuple[float, float], Change]:
    pairs = np.unique(np.column_stack((firsts[paired], lasts[paired])), axis=0)
    return {(float(a), float(b)): classify_change(instrument, float(a), float(b)) for a, b in pairs}


def _unpaired(
    instrument: str, client_id: str, episode: str, first: Score | None, last: Score | None, n: int
) -> EpisodeOutcome:
    return EpisodeOutcome(
        client_id=client_id,
        episode=episode,
        instrument=instrument,
        first=None if first is None else first.total,
        last=None if last is None else last.total,
        n_scores=n,
        paired=False,
        change=None,
        case_at_start=None,
        recovered=None,
        reliably_recovered=None,
        first_session=None if first is None else first.session,
        last_session=None if last is None else last.session,
    )


def _paired(
    client_id: str, episode: str, first: Score, last: Score, n: int, change: Change
) -> EpisodeOutcome:
    case = change.case_before
    return EpisodeOutcome(
        client_id=client_id,
        episode=episode,
        instrument=change.instrument,
        first=first.total,
        last=last.total,
        n_scores=n,
        paired=True,
        change=change.category,
        case_at_start=case,
        recovered=change.recovered if case else None,
        reliably_recovered=change.reliably_recovered if case else None,
        first_session=first.session,
        last_session=last.session,
        case_at_end=change.case_after,
    )


def joint_outcome(
    phq9: EpisodeOutcome | None, gad7: EpisodeOutcome | None
) -> EpisodeOutcome | None:
    """The NHS Talking Therapies joint rule for an episode measured on both PHQ-9 and GAD-7.

    A case at the start on either measure; recovered when a case at the start and a case on
    neither at the end; reliable improvement on either without reliable deterioration on the
    other, and reliable deterioration likewise. Null unless the episode has both measures;
    unpaired (clinical fields null) unless both are paired.
    """
    if phq9 is None or gad7 is None:
        return None
    paired = phq9.paired and gad7.paired
    base = EpisodeOutcome(
        client_id=phq9.client_id,
        episode=phq9.episode,
        instrument=JOINT,
        first=None,
        last=None,
        n_scores=min(phq9.n_scores, gad7.n_scores),
        paired=paired,
        change=None,
        case_at_start=None,
        recovered=None,
        reliably_recovered=None,
    )
    if not paired:
        return base
    case = bool(phq9.case_at_start or gad7.case_at_start)
    change = _joint_change(phq9.change, gad7.change)
    case_at_end = bool(phq9.case_at_end or gad7.case_at_end)
    recovered = not case_at_end if case else None
    return replace(
        base,
        change=change,
        case_at_start=case,
        recovered=recovered,
        reliably_recovered=None if recovered is None else recovered and change == IMPROVED,
        case_at_end=case_at_end,
        first_session=min(_sessions(phq9, gad7, "first_session"), default=None),
        last_session=max(_sessions(phq9, gad7, "last_session"), default=None),
    )


def _joint_change(a: str | None, b: str | None) -> str:
    both = {a, b}
    if IMPROVED in both and DETERIORATED not in both:
        return IMPROVED
    if DETERIORATED in both and IMPROVED not in both:
        return DETERIORATED
    return NO_RELIABLE_CHANGE


def _sessions(a: EpisodeOutcome, b: EpisodeOutcome, field: str) -> list[int]:
    return [v for v in (getattr(a, field), getattr(b, field)) if v is not None]
