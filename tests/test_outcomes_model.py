"""The alliance -> outcome model: pairs, the closed-form REML fit, and recovery of a known effect."""

from __future__ import annotations

import numpy as np
import pytest

from alliance.core.outcomes import (
    MIN_EPISODES,
    AllianceOutcome,
    AllianceRows,
    NotEnoughData,
    alliance_outcome,
    session_pairs,
)
from alliance.core.outcomes.mixed import random_intercept_reml
from alliance.core.outcomes.simulate import AllianceEffects, Episode, simulate


def rows_of(episodes: list[Episode]) -> AllianceRows:
    lengths = [e.sessions for e in episodes]
    return AllianceRows(
        episode=np.repeat([e.client_id for e in episodes], lengths),
        session=np.concatenate([np.arange(1, n + 1) for n in lengths]),
        alliance=np.concatenate([e.alliance for e in episodes]),
        outcome=np.concatenate([e.phq9 for e in episodes]).astype(float),
    )


def test_pairs_join_this_sessions_scores_to_the_next_outcome() -> None:
    rows = AllianceRows(
        episode=["a", "a", "a", "a", "b", "b"],
        session=[1, 2, 4, 3, 1, 2],
        alliance=[4.0, np.nan, 3.0, 4.4, 4.8, 5.0],
        outcome=[15, 12, 9, np.nan, 20, 18],
    )
    pairs = session_pairs(rows)
    # a: session 1 -> 2 (session 2 has no alliance, so no pair from it; session 3 no outcome,
    # so 2's next scored outcome is 4); b: 1 -> 2.
    assert pairs.outcome_now.tolist() == [15, 20]
    assert pairs.alliance.tolist() == [4.0, 4.8]
    assert pairs.outcome_next.tolist() == [12, 18]
    assert pairs.n_episodes == 2


def test_not_enough_data_says_how_much_there_is_and_is_needed() -> None:
    episodes = simulate(10, 1, observations=False)
    result = alliance_outcome(rows_of(episodes), "alliance_check", "phq9")
    assert isinstance(result, NotEnoughData)
    assert result.n_episodes == 10 and result.needed_episodes == MIN_EPISODES
    assert "10 episodes" in result.sentence and f"{MIN_EPISODES} episodes" in result.sentence


def test_no_session_to_session_variation_is_not_enough_data() -> None:
    episodes = simulate(60, 2, observations=False)
    for e in episodes:
        e.alliance = [4.2] * e.sessions
    assert isinstance(alliance_outcome(rows_of(episodes), "alliance_check", "phq9"), NotEnoughData)


def test_a_large_within_effect_is_recovered() -> None:
    effects = AllianceEffects(within=-3.0, between=-1.0, client_sd=0.3)
    result = alliance_outcome(
        rows_of(simulate(200, 5, effects=effects, observations=False)), "alliance_check", "phq9"
    )
    assert isinstance(result, AllianceOutcome)
    assert result.within.ci_low <= -3.0 <= result.within.ci_high
    assert result.within.estimate == pytest.approx(-3.0, abs=0.5)
    assert result.within.clear
    assert result.n_episodes == 200 and result.n_pairs > 1500
    assert "points lower (better)" in result.sentence and "not proof" in result.sentence
    assert set(result.to_dict()["within"]) >= {"estimate", "ci_low", "ci_high"}


def test_no_effect_reads_as_no_clear_link() -> None:
    result = alliance_outcome(
        rows_of(simulate(150, 11, observations=False)), "alliance_check", "phq9"
    )
    assert isinstance(result, AllianceOutcome)
    assert result.within.ci_low < 0 < result.within.ci_high
    assert "not clearly followed" in result.sentence


def test_closed_form_reml_equals_statsmodels_mixedlm() -> None:
    from statsmodels.regression.mixed_linear_model import MixedLM

    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(80), rng.integers(3, 12, 80))
    n = groups.size
    x = np.column_stack((np.ones(n), rng.normal(size=n), rng.normal(size=n)))
    y = x @ [1.0, 0.5, -2.0] + rng.normal(0, 1.5, 80)[groups] + rng.normal(0, 2.0, n)
    ours = random_intercept_reml(y, x, groups)
    theirs = MixedLM(y, x, groups=groups).fit(reml=True, method="bfgs")
    assert ours.params == pytest.approx(np.asarray(theirs.fe_params), abs=1e-4)
    assert ours.sigma2 == pytest.approx(theirs.scale, rel=1e-3)
    assert ours.tau2 == pytest.approx(float(np.asarray(theirs.cov_re)[0, 0]), rel=1e-3)
    # Fixed-effect SEs: (X'V^-1 X)^-1 as in nlme/lme4; statsmodels inverts the joint Hessian,
    # which agrees closely for slopes.
    assert ours.se[1:] == pytest.approx(np.asarray(theirs.bse_fe)[1:], rel=0.02)


def test_zero_between_group_variance_is_fitted_not_failed() -> None:
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(50), 6)
    x = np.column_stack((np.ones(300), rng.normal(size=300)))
    y = x @ [2.0, 1.0] + rng.normal(0, 1.0, 300)  # no group effect at all
    fit = random_intercept_reml(y, x, groups)
    assert fit.tau2 < 0.05 and fit.params == pytest.approx([2.0, 1.0], abs=0.2)
    assert np.all(np.isfinite(fit.se))
