"""Rates, effect size and service summaries on a small clinic worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alliance.core.instruments import bundled_instruments
from alliance.core.outcomes import (
    PUBLISHED,
    Ending,
    Score,
    attendance,
    dropout,
    episode_outcome,
    mean_trajectory,
    rate,
    satisfaction,
    summarise,
    wilson,
)

INSTRUMENTS = bundled_instruments()


@pytest.mark.parametrize(
    ("count", "of", "low", "high"),
    [
        # Newcombe (1998), Stat Med 17:857-872, Table I, method 3 (Wilson score, no correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombes_worked_examples(
    count: int, of: int, low: float, high: float
) -> None:
    assert wilson(count, of) == pytest.approx((low, high), abs=5e-5)


def test_rate_of_nothing_is_null_and_counts_are_checked() -> None:
    assert rate(0, 0).value is None and rate(0, 0).ci_low is None
    with pytest.raises(ValueError):
        rate(3, 2)


def clinic() -> list:
    """Five PHQ-9 episodes whose every figure is worked out in the test below."""
    episodes = {
        "A": (15, 8),  # -7: reliable improvement; case -> not: recovered, reliably
        "B": (12, 9),  # -3: no reliable change; case -> not: recovered, not reliably
        "C": (11, 18),  # +7: reliable deterioration; stays a case
        "D": (7, 3),  # -4: no reliable change; not a case at the start
        "E": (20,),  # one score: not paired
    }
    return [
        episode_outcome(
            INSTRUMENTS["phq9"], c, "1", [Score(i + 1, t) for i, t in enumerate(totals)]
        )
        for c, totals in episodes.items()
    ]


def test_summary_denominators_follow_the_manual() -> None:
    s = summarise(clinic(), "phq9")
    assert (s.episodes, s.paired) == (5, 4)
    assert (s.completeness.count, s.completeness.of) == (4, 5)
    # Reliable improvement and deterioration over the paired episodes (A-D) ...
    assert (s.reliable_improvement.count, s.reliable_improvement.of) == (1, 4)
    assert (s.reliable_deterioration.count, s.reliable_deterioration.of) == (1, 4)
    # ... recovery and reliable recovery over those that were a case at the start (A, B, C).
    assert (s.recovery.count, s.recovery.of) == (2, 3)
    assert (s.reliable_recovery.count, s.reliable_recovery.of) == (1, 3)
    assert s.recovery.value == pytest.approx(2 / 3)
    assert (s.recovery.ci_low, s.recovery.ci_high) == pytest.approx(wilson(2, 3))


def test_pre_post_effect_size_by_hand() -> None:
    # First scores 15, 12, 11, 7: mean 11.25, SD sqrt(32.75 / 3); improvements 7, 3, -7, 4.
    s = summarise(clinic(), "phq9")
    assert s.effect_size == pytest.approx(1.75 / math.sqrt(32.75 / 3))
    assert (s.mean_first, s.mean_last) == (11.25, 9.5)
    assert s.effect_ci is not None and s.effect_ci[0] < s.effect_size < s.effect_ci[1]
    assert summarise(clinic(), "phq9", seed=0).effect_ci == s.effect_ci  # seeded


def test_summary_keys_of_the_json() -> None:
    out = summarise(clinic(), "phq9").to_dict()
    for key in (
        "episodes",
        "paired",
        "reliable_improvement_rate",
        "reliable_deterioration_rate",
        "recovery_rate",
        "reliable_recovery_rate",
        "effect_size",
    ):
        assert key in out
    assert out["recovery_rate"] == pytest.approx(2 / 3)
    assert out["reliable_improvement_rate"] == 0.25


def test_summary_of_no_episodes() -> None:
    s = summarise([], "phq9")
    assert s.episodes == 0 and s.recovery.value is None and s.effect_size is None


def test_attendance() -> None:
    a = attendance([1, 4, 6, 9])
    assert (a.episodes, a.mean_sessions, a.median_sessions) == (4, 5.0, 5.0)
    assert (a.single_session.count, a.single_session.of) == (1, 4)


def test_dropout_is_unplanned_over_ended() -> None:
    d = dropout([Ending.PLANNED, Ending.UNPLANNED, Ending.UNPLANNED, Ending.TRANSFERRED, None])
    assert d.ended == 4
    assert d.by_ending == {"planned": 1, "unplanned": 2, "transferred": 1, "other": 0}
    assert (d.dropout.count, d.dropout.of) == (2, 4)


def test_satisfaction_uses_the_instruments_satisfied_band() -> None:
    s = satisfaction(INSTRUMENTS["satisfaction_check"], [4.6, 3.2, 4.0, math.nan], ended=5)
    assert s.responses == 3 and s.mean == pytest.approx(3.9333, abs=1e-4)
    assert (s.satisfied.count, s.satisfied.of) == (2, 3)  # 4.0 is "agree": satisfied
    assert s.response_rate is not None and (s.response_rate.count, s.response_rate.of) == (3, 5)
    half = 1.959964 * np.std([4.6, 3.2, 4.0], ddof=1) / math.sqrt(3)
    assert (s.ci_low, s.ci_high) == pytest.approx((s.mean - half, s.mean + half))


def test_mean_trajectory_per_session() -> None:
    points = mean_trajectory([1, 1, 2, 2, 3], [10, 14, 8, math.nan, 5], min_n=1)
    assert [(p.session, p.n, p.mean) for p in points] == [(1, 2, 12.0), (2, 1, 8.0), (3, 1, 5.0)]
    half = 1.959964 * math.sqrt(8) / math.sqrt(2)
    assert (points[0].ci_low, points[0].ci_high) == pytest.approx((12 - half, 12 + half))
    assert points[1].ci_low is None  # one score: no interval
    assert [p.session for p in mean_trajectory([1, 1, 2], [10, 14, 8], min_n=2)] == [1]


def test_published_figures_are_cited_fractions() -> None:
    assert {"recovery", "reliable_improvement", "reliable_recovery"} <= set(PUBLISHED)
    for figure in PUBLISHED.values():
        assert 0 < figure.value < 1 and figure.period and "http" in figure.source
        if figure.count is not None and figure.of is not None:
            assert figure.count / figure.of == pytest.approx(figure.value, abs=5e-4)
