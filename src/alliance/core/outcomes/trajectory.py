"""The average course of an outcome measure over sessions, for the clinic's trajectory chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from alliance.core.outcomes.rates import Z_95


@dataclass(frozen=True)
class TrajectoryPoint:
    """Mean score at one session number over the episodes scored there (normal 95% interval)."""

    session: int
    n: int
    mean: float
    ci_low: float | None
    ci_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mean_trajectory(
    sessions: Sequence[int] | NDArray[np.int64],
    totals: Sequence[float] | NDArray[np.float64],
    *,
    min_n: int = 1,
) -> list[TrajectoryPoint]:
    """Per session number, the mean total with its n and 95% interval (NaN totals skipped).

    Sessions seen by fewer than ``min_n`` episodes are left out: the late sessions of a few long
    episodes would otherwise end the line with noise.
    """
    session = np.asarray(sessions, dtype=np.int64)
    total = np.asarray(totals, dtype=np.float64)
    keep = np.isfinite(total)
    session, total = session[keep], total[keep]
    if session.size == 0:
        return []
    values, index = np.unique(session, return_inverse=True)
    n = np.bincount(index)
    mean = np.bincount(index, weights=total) / n
    squares = np.bincount(index, weights=(total - mean[index]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = Z_95 * np.sqrt(squares / (n - 1)) / np.sqrt(n)
    return [
        TrajectoryPoint(
            session=int(values[i]),
            n=int(n[i]),
            mean=float(mean[i]),
            ci_low=float(mean[i] - half[i]) if n[i] > 1 else None,
            ci_high=float(mean[i] + half[i]) if n[i] > 1 else None,
        )
        for i in range(values.size)
        if n[i] >= min_n
    ]
