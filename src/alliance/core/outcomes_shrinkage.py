"""Per-counselor rates shrunk toward their group's rate, for supervision (never for ranking).

A counselor with 4 episodes and 4 improvements has not shown a 100% improvement rate; raw rates
of small caseloads mostly show chance. Empirical-Bayes (beta-binomial) shrinkage pulls each
counselor's rate toward the group's by as much as the group's own spread says chance explains
(Efron & Morris, 1975, "Data analysis using Stein's estimator and its generalizations", JASA
70:311-319; the beta-binomial moment estimate as in Kleinman, 1973, JASA 68:46-54): a
counselor's rate moves toward the group rate the less data it rests on, and fully so when
counselors differ no more than chance would make them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Prior strength (in pseudo-episodes) when the counselors' rates spread no more than chance:
#: a large finite number, so that everyone shows (nearly) the group rate.
MAX_PRIOR_EPISODES = 1000.0
#: At least one pseudo-episode, so a counselor without episodes still has a defined rate.
MIN_PRIOR_EPISODES = 1.0
_Z = 1.959963984540054  # two-sided 95%


@dataclass(frozen=True)
class ShrunkRate:
    """One counselor's rate: the raw ``count``/``of`` and the shrunk ``value`` with an
    approximate 95% interval (normal approximation to the beta posterior, clipped to 0-1)."""

    key: str
    count: int
    of: int
    raw: float | None
    value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Shrunk:
    """Every counselor's shrunk rate, the group rate they are pulled toward and how strongly
    (``prior_episodes``: a counselor with that many episodes is pulled halfway)."""

    group_rate: float
    prior_episodes: float
    rates: dict[str, ShrunkRate]


def shrink_rates(counts: Mapping[str, tuple[int, int]]) -> Shrunk | None:
    """Shrink each ``key: (count, of)`` toward the pooled rate; None when there is no
    denominator at all. Keys with ``of == 0`` get the group rate and its prior interval."""
    total = sum(of for _, of in counts.values())
    if total == 0:
        return None
    group = sum(count for count, _ in counts.values()) / total
    strength = _prior_strength(counts, group)
    rates = {key: _posterior(key, c, n, group, strength) for key, (c, n) in counts.items()}
    return Shrunk(group_rate=group, prior_episodes=strength, rates=rates)


def _prior_strength(counts: Mapping[str, tuple[int, int]], group: float) -> float:
    """Method of moments: the between-counselor variance is the observed variance of the raw
    rates less the binomial (chance) variance expected at their sizes; the beta prior whose
    variance matches it has strength p(1-p)/tau^2 - 1 pseudo-episodes."""
    sized = [(c / n, n) for c, n in counts.values() if n > 0]
    if len(sized) < 2 or group in (0.0, 1.0):
        return MAX_PRIOR_EPISODES
    mean = sum(r for r, _ in sized) / len(sized)
    observed = sum((r - mean) ** 2 for r, _ in sized) / (len(sized) - 1)
    chance = sum(group * (1 - group) / n for _, n in sized) / len(sized)
    between = observed - chance
    if between <= 0:
        return MAX_PRIOR_EPISODES
    return min(MAX_PRIOR_EPISODES, max(MIN_PRIOR_EPISODES, group * (1 - group) / between - 1))


def _posterior(key: str, count: int, of: int, group: float, strength: float) -> ShrunkRate:
    a = count + strength * group
    b = of - count + strength * (1 - group)
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    return ShrunkRate(
        key=key,
        count=count,
        of=of,
        raw=count / of if of else None,
        value=mean,
        ci_low=max(0.0, mean - _Z * sd),
        ci_high=min(1.0, mean + _Z * sd),
    )
