"""Reliable and clinically significant change between two totals.

Two conventions, both cited in the instrument files:
- a published fixed threshold (NHS Talking Therapies: PHQ-9 >= 6, GAD-7 >= 4; ORS 5), or
- the Jacobson & Truax (1991) reliable change index from the measure's SD and reliability:
  SE = SD * sqrt(1 - r), S_diff = sqrt(2) * SE, RCI = (after - before) / S_diff, reliable when
  |RCI| >= 1.96 (two-tailed p < .05).
Recovery follows the NHS Talking Therapies definition: a case at the start and not a case at the
end; reliable recovery is recovery together with reliable improvement.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument
from alliance.core.scoring import total_range

Z_95 = 1.96  # two-tailed 95% criterion, Jacobson & Truax (1991)

IMPROVED = "improved"
NO_RELIABLE_CHANGE = "no_reliable_change"
DETERIORATED = "deteriorated"


@dataclass(frozen=True)
class Change:
    instrument: str
    before: float
    after: float
    difference: float
    improvement: float
    threshold: float
    method: str
    rci: float | None
    category: str
    case_before: bool | None
    case_after: bool | None
    recovered: bool | None
    reliably_recovered: bool | None
    reliably_deteriorated: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def standard_error_of_difference(sd: float, reliability: float) -> float:
    """S_diff = sqrt(2) * SD * sqrt(1 - r) (Jacobson & Truax, 1991)."""
    if sd <= 0 or not 0 < reliability < 1:
        raise ValueError("sd must be positive and reliability strictly between 0 and 1")
    return math.sqrt(2) * sd * math.sqrt(1 - reliability)


def reliable_change_threshold(instrument: Instrument) -> tuple[float, str]:
    """The smallest reliable change in points and the method behind it."""
    rc = instrument.reliable_change
    if rc is None:
        raise InvalidAnswersError(f"{instrument.id} has no reliable-change criterion")
    if rc.threshold is not None:
        return rc.threshold, "threshold"
    assert rc.sd is not None and rc.reliability is not None
    return Z_95 * standard_error_of_difference(rc.sd, rc.reliability), "jacobson_truax"


def classify_change(instrument: Instrument, before: float, after: float) -> Change:
    """Reliable-change category and recovery status from two totals of ``instrument``."""
    threshold, method = reliable_change_threshold(instrument)
    _check_total(instrument, "before", before)
    _check_total(instrument, "after", after)
    difference = after - before
    improvement = difference if instrument.higher_is_better else -difference
    rci = round(difference * Z_95 / threshold, 3) if method == "jacobson_truax" else None
    category = _category(improvement, threshold)
    case_before = case_after = recovered = reliably_recovered = None
    if instrument.caseness is not None:
        case_before = instrument.caseness.is_case(before)
        case_after = instrument.caseness.is_case(after)
        recovered = case_before and not case_after
        reliably_recovered = recovered and category == IMPROVED
    return Change(
        instrument=instrument.id,
        before=before,
        after=after,
        difference=round(difference, 4),
        improvement=round(improvement, 4),
        threshold=round(threshold, 3),
        method=method,
        rci=rci,
        category=category,
        case_before=case_before,
        case_after=case_after,
        recovered=recovered,
        reliably_recovered=reliably_recovered,
        reliably_deteriorated=category == DETERIORATED,
    )


def _category(improvement: float, threshold: float) -> str:
    # Small tolerance so that 0.1-step visual-analogue sums compare exactly at the threshold.
    if improvement >= threshold - 1e-9:
        return IMPROVED
    if -improvement >= threshold - 1e-9:
        return DETERIORATED
    return NO_RELIABLE_CHANGE


def _check_total(instrument: Instrument, name: str, value: float) -> None:
    low, high = total_range(instrument)
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidAnswersError(
            f"{name} total {value} is outside {instrument.id}'s range {low}-{high}"
        )
