"""PHQ-9 and GAD-7 scoring against their published scoring instructions.

Kroenke et al. (2001): PHQ-9 total 0-27, bands at 5, 10, 15, 20. Spitzer et al. (2006): GAD-7
total 0-21, bands at 5, 10, 15. Kroenke et al. (2010): prorate PHQ-9 with up to two missing.
"""

from __future__ import annotations

import pytest

from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument
from alliance.core.scoring import score


def answers_with_total(total: int, n_items: int) -> list[int]:
    """Answers (0-3) adding up to ``total``, risk item last and kept at 0 where possible."""
    answers = [0] * n_items
    remaining = total
    for i in range(n_items):
        answers[i] = min(3, remaining)
        remaining -= answers[i]
    assert remaining == 0
    return answers


def test_issue_example(phq9: Instrument) -> None:
    result = score(phq9, [3, 3, 2, 2, 1, 1, 0, 0, 1])
    assert (result.total, result.severity, result.flags) == (13, "moderate", ["risk:item9"])


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_edges(phq9: Instrument, total: int, band: str) -> None:
    result = score(phq9, answers_with_total(total, 9))
    assert result.total == total and result.severity == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_edges(gad7: Instrument, total: int, band: str) -> None:
    result = score(gad7, answers_with_total(total, 7))
    assert result.total == total and result.severity == band


@pytest.mark.parametrize(("total", "case"), [(9, False), (10, True)])
def test_phq9_caseness_edge(phq9: Instrument, total: int, case: bool) -> None:
    assert score(phq9, answers_with_total(total, 9)).case is case


@pytest.mark.parametrize(("total", "case"), [(7, False), (8, True)])
def test_gad7_caseness_edge(gad7: Instrument, total: int, case: bool) -> None:
    assert score(gad7, answers_with_total(total, 7)).case is case


@pytest.mark.parametrize(("item9", "flagged"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_risk_flag_whatever_the_total(
    phq9: Instrument, item9: int, flagged: bool
) -> None:
    result = score(phq9, [0, 0, 0, 0, 0, 0, 0, 0, item9])
    assert ("risk:item9" in result.flags) is flagged
    assert result.severity == "minimal"


def test_risk_flag_survives_an_unscorable_administration(phq9: Instrument) -> None:
    result = score(phq9, [None, None, None, 0, 0, 0, 0, 0, 2])
    assert not result.scorable and result.total is None
    assert result.flags == ["risk:item9"]


def test_phq9_prorates_with_two_missing(phq9: Instrument) -> None:
    # 7 answered items summing to 10: 10 / 7 * 9 = 12.857 -> 13
    result = score(phq9, [2, 2, 2, 2, 1, 1, 0, None, None])
    assert result.scorable and result.prorated and result.total == 13
    assert result.missing_items == ["phq9_8", "phq9_9"]
    assert "prorated" in result.flags


def test_phq9_proration_rounds_half_up(phq9: Instrument) -> None:
    # 8 answered items summing to 12: 12 / 8 * 9 = 13.5 -> 14 (not banker's 14 by luck: check 4.5)
    assert score(phq9, [3, 3, 2, 2, 1, 1, 0, 0, None]).total == 14
    # 6 answered... not allowed; 8 answered summing to 4: 4.5 -> 5 crosses into "mild"
    result = score(phq9, [1, 1, 1, 1, 0, 0, 0, 0, None])
    assert result.total == 5 and result.severity == "mild"


def test_phq9_three_missing_is_unscorable(phq9: Instrument) -> None:
    result = score(phq9, [2, 2, 2, 2, 1, 1, None, None, None])
    assert not result.scorable
    assert result.reason == "3 of 9 items missing; at most 2 may be missing"
    assert result.severity is None and result.case is None


def test_gad7_prorates_one_missing_but_not_two(gad7: Instrument) -> None:
    one = score(gad7, [3, 3, 3, 2, 2, 2, None])  # 15 / 6 * 7 = 17.5 -> 18
    assert one.total == 18 and one.prorated
    two = score(gad7, [3, 3, 3, 2, 2, None, None])
    assert not two.scorable


def test_nothing_answered_is_unscorable(gad7: Instrument) -> None:
    assert score(gad7, [None] * 7).reason == "no items answered"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([0] * 8, "phq9 has 9 items; got 8 answers"),
        ([0] * 10, "phq9 has 9 items; got 10 answers"),
        ([0] * 8 + [4], r"answer 9 \(phq9_9\) = 4 is not one of 0, 1, 2, 3"),
        ([0] * 8 + [-1], "is not one of"),
        ([0] * 8 + [1.5], "is not one of"),
    ],
)
def test_invalid_answers(phq9: Instrument, answers: list[float], message: str) -> None:
    with pytest.raises(InvalidAnswersError, match=message):
        score(phq9, answers)


def test_answers_by_item_id(phq9: Instrument) -> None:
    assert (
        score(phq9, {"phq9_1": 3, "phq9_2": 3}).reason
        == "7 of 9 items missing; at most 2 may be missing"
    )
    with pytest.raises(InvalidAnswersError, match="has no item"):
        score(phq9, {"phq9_10": 1})
