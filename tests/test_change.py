"""Reliable change, recovery and the Jacobson-Truax index."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from alliance.core.change import (
    Z_95,
    classify_change,
    reliable_change_threshold,
    standard_error_of_difference,
)
from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument, ReliableChange


@pytest.mark.parametrize(
    ("before", "after", "category"),
    [
        (15, 9, "improved"),  # exactly 6 points: NHS TT "6 or more"
        (15, 10, "no_reliable_change"),
        (15, 20, "no_reliable_change"),
        (15, 21, "deteriorated"),
        (12, 12, "no_reliable_change"),
    ],
)
def test_phq9_reliable_change_edges(
    phq9: Instrument, before: int, after: int, category: str
) -> None:
    result = classify_change(phq9, before, after)
    assert result.category == category
    assert result.reliably_deteriorated is (category == "deteriorated")


@pytest.mark.parametrize(
    ("before", "after", "category"),
    [
        (12, 8, "improved"),
        (12, 9, "no_reliable_change"),
        (8, 12, "deteriorated"),
        (8, 11, "no_reliable_change"),
    ],
)
def test_gad7_reliable_change_edges(
    gad7: Instrument, before: int, after: int, category: str
) -> None:
    assert classify_change(gad7, before, after).category == category


@pytest.mark.parametrize(
    ("before", "after", "recovered", "reliably"),
    [
        (16, 9, True, True),  # case -> not case, 7 points: reliable recovery
        (11, 9, True, False),  # recovered but change under 6
        (9, 3, False, False),  # not a case at the start: cannot recover
        (20, 10, False, False),  # still a case at 10
    ],
)
def test_phq9_recovery(
    phq9: Instrument, before: int, after: int, recovered: bool, reliably: bool
) -> None:
    result = classify_change(phq9, before, after)
    assert (result.recovered, result.reliably_recovered) == (recovered, reliably)


def test_gad7_recovery_uses_caseness_8(gad7: Instrument) -> None:
    assert classify_change(gad7, 8, 7).recovered is True
    assert classify_change(gad7, 7, 2).recovered is False


def test_ors_improvement_is_an_increase(instruments: dict[str, Instrument]) -> None:
    ors = instruments["ors"]
    up = classify_change(ors, 18.0, 23.0)
    assert up.category == "improved" and up.improvement == 5.0 and up.recovered is False
    down = classify_change(ors, 30.0, 24.9)
    assert down.category == "deteriorated"


def test_jacobson_truax_worked_example(phq9: Instrument) -> None:
    # Wodrich, Appendix E (Piers-Harris-2): SEM 3.07 -> S_diff 4.34 -> criterion 8.51 points.
    # SEM = SD * sqrt(1 - r): SD 10 and r .9058 give SEM 3.07.
    s_diff = standard_error_of_difference(10, 1 - 0.307**2)
    assert math.isclose(s_diff, math.sqrt(2) * 3.07, rel_tol=1e-9)
    worked = replace(
        phq9, reliable_change=ReliableChange(source="Wodrich", reliability=1 - 0.307**2, sd=10)
    )
    assert reliable_change_threshold(worked) == (pytest.approx(8.51, abs=0.005), "jacobson_truax")
    change = classify_change(worked, 24, 13)  # 11 points: reliable
    assert change.category == "improved"
    assert change.rci == pytest.approx(-11 / s_diff, abs=0.001) and change.rci < -Z_95


def test_jacobson_truax_instrument_parameters(phq9: Instrument) -> None:
    custom = replace(phq9, reliable_change=ReliableChange(source="test", reliability=0.84, sd=5.0))
    threshold = 1.96 * math.sqrt(2) * 5.0 * math.sqrt(0.16)  # 5.544
    result = classify_change(custom, 15, 9)
    assert result.method == "jacobson_truax"
    assert result.threshold == round(threshold, 3)
    assert result.category == "improved"
    assert result.rci == round(-6 / (threshold / 1.96), 3)
    assert classify_change(custom, 15, 10).category == "no_reliable_change"


def test_change_rejects_totals_out_of_range(phq9: Instrument) -> None:
    with pytest.raises(InvalidAnswersError, match="outside phq9's range 0-27"):
        classify_change(phq9, 15, 28)


def test_instrument_without_criterion(instruments: dict[str, Instrument]) -> None:
    with pytest.raises(InvalidAnswersError, match="no reliable-change criterion"):
        classify_change(instruments["wai_sr"], 3.0, 4.0)


def test_invalid_jt_parameters() -> None:
    with pytest.raises(ValueError):
        standard_error_of_difference(5, 1.0)
