"""Per-counselor rates for supervision: shrunk toward the group rate by as much as chance
explains (hand-computed beta-binomial moment estimates)."""

from __future__ import annotations

import pytest

from alliance.core.outcomes_shrinkage import MAX_PRIOR_EPISODES, shrink_rates


def test_counselors_who_differ_beyond_chance_keep_most_of_their_difference() -> None:
    shrunk = shrink_rates({"a": (14, 20), "b": (6, 20)})
    assert shrunk is not None
    # group .5; raw rates .7 and .3 vary by .08, chance explains .25/20 = .0125, so the
    # counselors differ by tau^2 = .0675 and the prior is worth .25/.0675 - 1 = 2.7037 episodes
    assert shrunk.group_rate == pytest.approx(0.5)
    assert shrunk.prior_episodes == pytest.approx(0.25 / 0.0675 - 1)
    a = shrunk.rates["a"]
    assert a.raw == pytest.approx(0.7)
    assert a.value == pytest.approx((14 + 0.5 * 2.7037) / (20 + 2.7037), abs=1e-4)
    assert a.ci_low < a.value < a.ci_high <= 1
    assert shrunk.rates["b"].value == pytest.approx(1 - a.value)


def test_counselors_who_differ_only_by_chance_all_show_the_group_rate() -> None:
    shrunk = shrink_rates({"a": (2, 4), "b": (5, 10), "c": (12, 30)})
    assert shrunk is not None
    assert shrunk.prior_episodes == MAX_PRIOR_EPISODES
    assert shrunk.group_rate == pytest.approx(19 / 44)
    for rate in shrunk.rates.values():
        assert rate.value == pytest.approx(19 / 44, abs=0.01)


def test_a_small_caseload_moves_further_than_a_large_one() -> None:
    shrunk = shrink_rates({"small": (3, 3), "large": (60, 100), "low": (10, 100)})
    assert shrunk is not None
    small, large = shrunk.rates["small"], shrunk.rates["large"]
    assert (small.raw or 0) - small.value > (large.raw or 0) - large.value
    assert small.ci_high - small.ci_low > large.ci_high - large.ci_low


def test_no_denominator_is_no_answer_and_an_empty_caseload_gets_the_group_rate() -> None:
    assert shrink_rates({}) is None
    assert shrink_rates({"a": (0, 0)}) is None
    shrunk = shrink_rates({"a": (4, 8), "b": (0, 0)})
    assert shrunk is not None
    assert shrunk.rates["b"].raw is None and shrunk.rates["b"].value == pytest.approx(0.5)
