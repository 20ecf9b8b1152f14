"""Proportions with Wilson score 95% intervals.

Clinic rates rest on small counts (12 of 20 recovered), where the usual "p ± 1.96·SE" interval
runs past 0 or 1 and covers too rarely. The Wilson score interval (Wilson, 1927) keeps to 0-1 and
covers close to 95% even for small n; Newcombe (1998, Stat Med 17:857-872) recommends it and gives
the worked examples the tests check.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

Z_95 = 1.959964  # two-sided 95% normal quantile


@dataclass(frozen=True)
class Rate:
    """``count`` of ``of``; ``value`` and the interval are null when ``of`` is 0."""

    count: int
    of: int
    value: float | None
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rate(count: int, of: int) -> Rate:
    """The proportion ``count / of`` with its Wilson score 95% interval."""
    if not 0 <= count <= of:
        raise ValueError(f"count {count} must be between 0 and {of}")
    if of == 0:
        return Rate(0, 0, None, None, None)
    low, high = wilson(count, of)
    return Rate(count, of, count / of, low, high)


def wilson(count: int, of: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval without continuity correction (Newcombe 1998, method 3)."""
    p = count / of
    z2 = z * z
    centre = p + z2 / (2 * of)
    spread = z * math.sqrt(p * (1 - p) / of + z2 / (4 * of * of))
    denominator = 1 + z2 / of
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)
