"""Outcome rules, measured from intake: reliable deterioration, no reliable change by session N,
and not on track (``not_on_track``)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from alliance.core.alerts import expected
from alliance.core.alerts.flags import Flagged, InstrumentRows, fmt
from alliance.core.alerts.frame import BoolArray, FloatArray
from alliance.core.alerts.not_on_track import Reference, not_on_track_flag
from alliance.core.alerts.types import Kind, Severity
from alliance.core.change import reliable_change_threshold
from alliance.core.instruments import Caseness


def outcome_flags(on: InstrumentRows, reference: Reference | None) -> Iterator[Flagged]:
    """Deterioration, no change and not on track, for an outcome measure with a reliable change."""
    if on.instrument.kind != "outcome" or on.instrument.reliable_change is None:
        return
    scored = on.frame.select(on.scored)
    rows = np.flatnonzero(on.scored)
    intake = np.full(on.frame.size, np.nan)
    intake[rows] = scored.total[scored.group_first_index()]
    s = np.zeros(on.frame.size)
    s[rows] = expected.relative_session(scored)
    threshold, _ = reliable_change_threshold(on.instrument)
    sign = 1.0 if on.instrument.higher_is_better else -1.0
    improvement = (on.frame.total - intake) * sign
    yield _deterioration(on, improvement, intake, threshold)
    yield _no_change(on, improvement, intake, s, threshold)
    flagged = not_on_track_flag(on, reference, scored, intake, s)
    if flagged is not None:
        yield flagged


def _deterioration(
    on: InstrumentRows, improvement: FloatArray, intake: FloatArray, threshold: float
) -> Flagged:
    total, f = on.frame.total, on.frame
    with np.errstate(invalid="ignore"):
        mask = on.scored & (-improvement >= threshold - 1e-9)
    return Flagged(
        Kind.RELIABLE_DETERIORATION,
        "deterioration:from_intake",
        Severity.WARNING,
        mask,
        lambda r: (
            f"{on.name} worsened from {fmt(intake[r])} at intake to {fmt(total[r])} at session "
            f"{f.session[r]} ({fmt(-improvement[r])} points; reliable change is {fmt(threshold)})",
            {"intake": float(intake[r]), "total": float(total[r]), "threshold": threshold},
        ),
    )


def _no_change(
    on: InstrumentRows,
    improvement: FloatArray,
    intake: FloatArray,
    s: FloatArray,
    threshold: float,
) -> Flagged:
    total, f = on.frame.total, on.frame
    n = on.config.no_change_session
    started_as_case = _is_case(intake, on.instrument.caseness)
    with np.errstate(invalid="ignore"):
        mask = on.scored & (s >= n) & (np.abs(improvement) < threshold - 1e-9) & started_as_case

    def describe(r: int) -> tuple[str, dict[str, float]]:
        text = (
            f"{on.name} {fmt(intake[r])} at intake and {fmt(total[r])} at session {f.session[r]}: "
            f"no reliable change ({fmt(threshold)} points) by administration {int(s[r])}"
        )
        numbers = {"intake": float(intake[r]), "total": float(total[r]), "threshold": threshold}
        return text, numbers | {"administration": float(s[r])}

    return Flagged(
        Kind.NO_RELIABLE_CHANGE, f"no_change:by_session_{n}", Severity.INFO, mask, describe
    )


def _is_case(totals: FloatArray, caseness: Caseness | None) -> BoolArray:
    """Caseness of each total, vectorised (every row counts as a case without a cutoff)."""
    if caseness is None:
        return np.ones(totals.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        if caseness.case_when == "at_or_above":
            return np.asarray(totals >= caseness.threshold)
        return np.asarray(totals < caseness.threshold)
