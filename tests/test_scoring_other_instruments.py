"""Scoring of the alliance, satisfaction and licensed (scoring-only) instruments."""

from __future__ import annotations

import pytest

from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument
from alliance.core.scoring import score


def test_wai_sr_total_and_subscale_means(instruments: dict[str, Instrument]) -> None:
    # Items 1..12; task 1,2,10,12 / bond 3,5,7,9 / goal 4,6,8,11 (Hatcher & Gillaspy, 2006)
    answers = [5, 4, 3, 2, 3, 2, 3, 2, 3, 5, 2, 4]
    result = score(instruments["wai_sr"], answers)
    assert result.subscales == {"task": 4.5, "bond": 3.0, "goal": 2.0}
    assert result.total == 3.17  # 38 / 12 = 3.1666...


def test_wai_sr_allows_no_missing_items(instruments: dict[str, Instrument]) -> None:
    result = score(instruments["wai_sr"], [5] * 11 + [None])
    assert not result.scorable and "at most 0" in (result.reason or "")


def test_srs_sums_visual_analogue_items_exactly(instruments: dict[str, Instrument]) -> None:
    result = score(instruments["srs"], [9.1, 9.2, 8.8, 8.9])
    assert result.total == 36.0 and result.severity == "good"
    below = score(instruments["srs"], [9.1, 9.2, 8.8, 8.8])
    assert below.total == 35.9 and below.severity == "concern"


@pytest.mark.parametrize("bad", [10.1, -0.1, 9.15])
def test_srs_rejects_values_off_the_scale(instruments: dict[str, Instrument], bad: float) -> None:
    with pytest.raises(InvalidAnswersError, match=r"outside 0-10 in steps of 0\.1"):
        score(instruments["srs"], [bad, 5, 5, 5])


@pytest.mark.parametrize(
    ("items", "band"), [([6.2, 6.3, 6.2, 6.2], "clinical"), ([6.3, 6.3, 6.2, 6.2], "nonclinical")]
)
def test_ors_clinical_cutoff_25(
    instruments: dict[str, Instrument], items: list[float], band: str
) -> None:
    result = score(instruments["ors"], items)
    assert result.severity == band
    assert result.case is (band == "clinical")


def test_satisfaction_reverse_keyed_item(instruments: dict[str, Instrument]) -> None:
    sat = instruments["satisfaction_check"]
    assert score(sat, [5, 5, 5, 5, 1]).total == 5.0  # "strongly disagree" with wanting other help
    result = score(sat, [5, 5, 5, 5, 5])
    assert result.item_scores["sat_different"] == 1
    assert result.total == 4.2 and result.severity == "satisfied"
    assert score(sat, [3, 3, 3, 3, 4]).total == 2.8  # 3+3+3+3+2 = 14 / 5


def test_alliance_check_mean_and_subscales(instruments: dict[str, Instrument]) -> None:
    result = score(instruments["alliance_check"], [5, 4, 4, 3, 5])
    assert result.total == 4.2 and result.severity == "good"
    assert result.subscales == {"bond": 4.33, "goals": 3.0, "tasks": 5.0}
    low = score(instruments["alliance_check"], [4, 4, 4, 4, 3])
    assert low.total == 3.8 and low.severity == "concern"


def test_alliance_check_prorates_one_missing(instruments: dict[str, Instrument]) -> None:
    result = score(instruments["alliance_check"], [5, 5, None, 4, 4])
    assert result.prorated and result.total == 4.5
    assert result.subscales["bond"] == 5.0
