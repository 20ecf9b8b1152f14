"""Episode outcomes: the NHS Talking Therapies definitions on small hand-checked episodes."""

from __future__ import annotations

import math

import pytest

from alliance.core.instruments import bundled_instruments
from alliance.core.outcomes import (
    JOINT,
    EpisodeOutcome,
    Score,
    episode_outcome,
    episode_outcomes,
    joint_outcome,
)

INSTRUMENTS = bundled_instruments()
PHQ9, GAD7, ORS = INSTRUMENTS["phq9"], INSTRUMENTS["gad7"], INSTRUMENTS["ors"]


def phq9(*totals: float, client: str = "A") -> EpisodeOutcome:
    return episode_outcome(PHQ9, client, "1", [Score(i + 1, t) for i, t in enumerate(totals)])


def gad7(*totals: float) -> EpisodeOutcome:
    return episode_outcome(GAD7, "A", "1", [Score(i + 1, t) for i, t in enumerate(totals)])


def test_first_and_last_scored_administration_are_compared() -> None:
    # 15 -> 8: 7 points down (>= 6, the PHQ-9 reliable change), a case (>= 10) at the start only.
    o = phq9(15, 12, 14, 8)
    assert (o.first, o.last, o.n_scores, o.paired) == (15, 8, 4, True)
    assert (o.first_session, o.last_session) == (1, 4)
    assert o.change == "improved" and o.case_at_start is True
    assert o.recovered is True and o.reliably_recovered is True


def test_recovered_without_reliable_improvement() -> None:
    o = phq9(12, 9)  # below the cutoff at the end, but only 3 points better
    assert o.change == "no_reliable_change" and o.recovered is True
    assert o.reliably_recovered is False


def test_reliable_deterioration_is_not_recovery() -> None:
    o = phq9(11, 18)
    assert o.change == "deteriorated" and o.recovered is False and o.reliably_recovered is False


def test_not_a_case_at_start_has_no_recovery() -> None:
    o = phq9(7, 1)  # improved by 6 but never a case: outside the recovery denominator
    assert o.change == "improved" and o.case_at_start is False
    assert o.recovered is None and o.reliably_recovered is None


def test_one_score_only_is_unpaired_with_no_clinical_fields() -> None:
    o = phq9(20)
    assert (o.first, o.last, o.n_scores, o.paired) == (20, 20, 1, False)
    assert o.change is None and o.case_at_start is None and o.recovered is None


def test_no_score_at_all() -> None:
    o = episode_outcome(PHQ9, "A", "1", [])
    assert (o.first, o.last, o.n_scores, o.paired) == (None, None, 0, False)


def test_unscorable_administrations_do_not_count() -> None:
    # Session 1 had too many missing items to score (NaN); the first *scored* one is session 2.
    o = episode_outcome(PHQ9, "A", "1", [Score(1, math.nan), Score(2, 16), Score(3, 9)])
    assert (o.first, o.first_session, o.n_scores) == (16, 2, 2)
    assert o.change == "improved"


def test_order_of_scores_does_not_matter() -> None:
    shuffled = episode_outcome(PHQ9, "A", "1", [Score(3, 8), Score(1, 15), Score(2, 12)])
    assert (shuffled.first, shuffled.last) == (15, 8)


def test_higher_is_better_measure_uses_its_own_direction() -> None:
    # ORS: higher is better, a case below 25, reliable change 5 points.
    o = episode_outcome(ORS, "A", "1", [Score(1, 18.0), Score(2, 27.5)])
    assert o.change == "improved" and o.case_at_start is True and o.recovered is True


def test_threshold_exactly_met_counts_as_reliable() -> None:
    assert phq9(16, 10).change == "improved"  # 6 points exactly
    assert phq9(16, 11).change == "no_reliable_change"
    assert gad7(8, 12).change == "deteriorated"  # GAD-7: 4 points exactly


@pytest.mark.parametrize(
    ("phq", "gad", "change", "case", "recovered", "reliably"),
    [
        # PHQ-9 3 points better (not reliable), GAD-7 5 better (reliable): improvement on either
        # without deterioration on the other; a case at the start on both, neither at the end.
        ((12, 8), (9, 4), "improved", True, True, True),
        # Reliable improvement on one and deterioration on the other: neither.
        ((15, 8), (6, 11), "no_reliable_change", True, False, False),
        # Deterioration on one, no reliable change on the other.
        ((11, 12), (8, 13), "deteriorated", True, False, False),
        # A case only on GAD-7 at the start is a case; recovered when below both cutoffs at the end.
        ((6, 5), (10, 7), "no_reliable_change", True, True, False),
        # Not a case on either at the start: no recovery.
        ((8, 9), (5, 6), "no_reliable_change", False, None, None),
    ],
)
def test_joint_rule(
    phq: tuple[float, float],
    gad: tuple[float, float],
    change: str,
    case: bool,
    recovered: bool | None,
    reliably: bool | None,
) -> None:
    joint = joint_outcome(phq9(*phq), gad7(*gad))
    assert joint is not None and joint.instrument == JOINT and joint.paired
    assert (joint.change, joint.case_at_start, joint.recovered, joint.reliably_recovered) == (
        change,
        case,
        recovered,
        reliably,
    )


def test_joint_needs_both_measures_paired() -> None:
    assert joint_outcome(phq9(15, 8), None) is None
    assert joint_outcome(None, gad7(9, 4)) is None
    unpaired = joint_outcome(phq9(15, 8), gad7(9))
    assert unpaired is not None and not unpaired.paired and unpaired.change is None


def test_vectorised_outcomes_equal_one_at_a_time() -> None:
    episodes = {
        ("A", "1"): [(1, 15.0), (2, 12.0), (3, 8.0)],
        ("A", "2"): [(1, 11.0), (2, 18.0)],  # a returning client's second episode
        ("B", "1"): [(2, 20.0)],
        ("C", "1"): [(1, math.nan), (2, 7.0), (5, 1.0), (4, 3.0)],
        ("D", "1"): [(1, 12.5), (2, 9.0)],  # a prorated total
    }
    columns: tuple[list[str], list[str], list[int], list[float]] = ([], [], [], [])
    for (client, episode), scores in episodes.items():
        for session, total in scores:
            for column, value in zip(columns, (client, episode, session, total), strict=True):
                column.append(value)
    together = episode_outcomes(PHQ9, *columns)
    one_by_one = [
        episode_outcome(PHQ9, c, e, [Score(s, t) for s, t in scores])
        for (c, e), scores in sorted(episodes.items())
    ]
    assert together == one_by_one
