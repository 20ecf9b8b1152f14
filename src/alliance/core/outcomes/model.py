"""Alliance → outcome in a clinic's own data: does a better session predict a better next score?

For each session t of an episode that has this session's outcome score y_t (given before the
session), its alliance score a_t (given after it) and the next session's outcome y_next, the
model is

    y_next = b0 + b1 * y_t + b_within * (a_t - mean_i(a)) + b_between * (mean_i(a) - mean(a))
             + u_i + e,      u_i ~ N(0, tau^2) per episode, e ~ N(0, sigma^2),

a linear mixed model (REML) with a random intercept per episode, fitted in closed form by
`alliance.core.outcomes.mixed` (the statsmodels MixedLM model; the tests check they agree). Splitting the
alliance into the client's own mean and the deviation from it separates "clients who rate the
alliance higher do better" (between) from "sessions that go better than usual for this client are
followed by more improvement" (within); only the within part is free of stable client
differences (Curran & Bauer, 2011, Annu Rev Psychol 62:583-619; Falkenström, Finkel, Sandell,
Rubel & Holmqvist, 2017, J Consult Clin Psychol 85(1):23-34, who apply it to alliance and
next-session symptoms). Both coefficients are in raw units: outcome points per alliance point.

Routine data are observational: the sentence says "was followed by", never "caused".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from alliance.core.outcomes.mixed import random_intercept_reml
from alliance.core.outcomes.rates import Z_95

# Maas & Hox (2005, Methodology 1(3):86-92): with 30 or more groups the fixed effects and their
# standard errors of a two-level model are unbiased; fewer groups give intervals that cover too
# rarely. A hundred session pairs keeps the within-episode estimate from resting on a handful.
MIN_EPISODES = 30
MIN_PAIRS = 100


@dataclass(frozen=True)
class AllianceRows:
    """One row per session: plain arrays (episode ids of any kind; NaN where a score is missing)."""

    episode: Sequence[Any] | NDArray[Any]
    session: Sequence[int] | NDArray[np.int64]
    alliance: Sequence[float] | NDArray[np.float64]
    outcome: Sequence[float] | NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    estimate: float
    ci_low: float
    ci_high: float
    se: float

    @property
    def clear(self) -> bool:
        """Whether the 95% interval excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AllianceOutcome:
    alliance_instrument: str
    outcome_instrument: str
    within: Estimate
    between: Estimate
    n_episodes: int
    n_pairs: int
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["within"] = self.within.to_dict()
        out["between"] = self.between.to_dict()
        return out


@dataclass(frozen=True)
class NotEnoughData:
    alliance_instrument: str
    outcome_instrument: str
    n_episodes: int
    n_pairs: int
    needed_episodes: int
    needed_pairs: int
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Pairs:
    """Session pairs ready for the model, with the episode index of each."""

    group: NDArray[np.int64]
    outcome_now: NDArray[np.float64]
    alliance: NDArray[np.float64]
    outcome_next: NDArray[np.float64]

    @property
    def n_pairs(self) -> int:
        return int(self.group.shape[0])

    @property
    def n_episodes(self) -> int:
        return int(np.unique(self.group).shape[0])


def session_pairs(rows: AllianceRows) -> Pairs:
    """Pair each session that has both scores with the next session that has an outcome score."""
    _, group = np.unique(np.asarray(rows.episode), return_inverse=True)
    session = np.asarray(rows.session, dtype=np.int64)
    alliance = np.asarray(rows.alliance, dtype=np.float64)
    outcome = np.asarray(rows.outcome, dtype=np.float64)
    keep = np.isfinite(outcome)
    order = np.lexsort((session, group))
    order = order[keep[order]]
    g, y, a = group[order].astype(np.int64), outcome[order], alliance[order]
    same = g[1:] == g[:-1]
    use = same & np.isfinite(a[:-1])
    return Pairs(
        group=g[:-1][use], outcome_now=y[:-1][use], alliance=a[:-1][use], outcome_next=y[1:][use]
    )


def alliance_outcome(
    rows: AllianceRows,
    alliance_instrument: str,
    outcome_instrument: str,
    *,
    higher_is_better: bool | None = None,
) -> AllianceOutcome | NotEnoughData:
    """Fit the model, or say how much more data it needs."""
    pairs = session_pairs(rows)
    n_episodes, n_pairs = pairs.n_episodes, pairs.n_pairs
    if n_episodes < MIN_EPISODES or n_pairs < MIN_PAIRS or _no_within_variation(pairs):
        return _not_enough(alliance_instrument, outcome_instrument, n_episodes, n_pairs)
    within, between = fit(pairs)
    direction = _direction(outcome_instrument) if higher_is_better is None else higher_is_better
    return AllianceOutcome(
        alliance_instrument=alliance_instrument,
        outcome_instrument=outcome_instrument,
        within=within,
        between=between,
        n_episodes=n_episodes,
        n_pairs=n_pairs,
        sentence=describe(within, between, outcome_instrument, direction, n_episodes, n_pairs),
    )


def fit(pairs: Pairs) -> tuple[Estimate, Estimate]:
    """REML fit of the random-intercept model; returns (within, between) with Wald 95% intervals."""
    sums = np.bincount(pairs.group, weights=pairs.alliance)
    counts = np.bincount(pairs.group)
    with np.errstate(invalid="ignore", divide="ignore"):
        client_mean = (sums / counts)[pairs.group]
    grand = float(pairs.alliance.mean())
    exog = np.column_stack(
        (
            np.ones(pairs.n_pairs),
            pairs.outcome_now,
            pairs.alliance - client_mean,
            client_mean - grand,
        )
    )
    _, group = np.unique(pairs.group, return_inverse=True)
    result = random_intercept_reml(pairs.outcome_next, exog, group.astype(np.int64))
    se = result.se
    return _estimate(result.params[2], se[2]), _estimate(result.params[3], se[3])


def _estimate(value: float, se: float) -> Estimate:
    return Estimate(
        estimate=float(value),
        ci_low=float(value - Z_95 * se),
        ci_high=float(value + Z_95 * se),
        se=float(se),
    )


def _no_within_variation(pairs: Pairs) -> bool:
    sums = np.bincount(pairs.group, weights=pairs.alliance)
    counts = np.bincount(pairs.group)
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = pairs.alliance - (sums / counts)[pairs.group]
    return bool(np.all(np.abs(deviation) < 1e-12))


def _not_enough(alliance: str, outcome: str, n_episodes: int, n_pairs: int) -> NotEnoughData:
    sentence = (
        f"Not enough data yet to relate the alliance to the next session's {_label(outcome)}: "
        f"{n_episodes} episodes and {n_pairs} session pairs with both scores; the model needs at "
        f"least {MIN_EPISODES} episodes and {MIN_PAIRS} pairs, with the alliance varying from "
        "session to session."
    )
    return NotEnoughData(alliance, outcome, n_episodes, n_pairs, MIN_EPISODES, MIN_PAIRS, sentence)


def _direction(instrument: str) -> bool | None:
    from alliance.core.instruments import bundled_instruments

    found = bundled_instruments().get(instrument)
    return None if found is None else found.higher_is_better


def _label(instrument: str) -> str:
    from alliance.core.instruments import bundled_instruments

    found = bundled_instruments().get(instrument)
    return instrument if found is None else found.short_title


def describe(
    within: Estimate,
    between: Estimate,
    outcome_instrument: str,
    higher_is_better: bool | None,
    n_episodes: int,
    n_pairs: int,
) -> str:
    """The result in plain words, for counselors and clinic directors."""
    label = _label(outcome_instrument)
    first = (
        f"In this clinic's data, when a client rated the alliance one point higher than their own "
        f"average, their {label} at the next session was {_points(within, higher_is_better)}, "
        f"allowing for this session's score."
        if within.clear
        else f"In this clinic's data, sessions rated above or below a client's own average alliance "
        f"were not clearly followed by a different {label} at the next session "
        f"({_interval(within)})."
    )
    second = (
        f" Clients whose average alliance was one point higher had a next-session {label} "
        f"{_points(between, higher_is_better)}."
        if between.clear
        else f" Clients with a higher average alliance did not clearly differ ({_interval(between)})."
    )
    return (
        f"{first}{second} Based on {n_episodes:,} episodes and {n_pairs:,} session pairs. "
        "This shows what tends to follow a good session here, not proof that one causes the other."
    )


def _points(estimate: Estimate, higher_is_better: bool | None) -> str:
    size = abs(estimate.estimate)
    direction = "higher" if estimate.estimate > 0 else "lower"
    better = ""
    if higher_is_better is not None:
        better = " (better)" if (estimate.estimate > 0) == higher_is_better else " (worse)"
    return f"{size:.1f} points {direction}{better} ({_interval(estimate)})"


def _interval(estimate: Estimate) -> str:
    return f"95% interval {estimate.ci_low:+.1f} to {estimate.ci_high:+.1f} points"
