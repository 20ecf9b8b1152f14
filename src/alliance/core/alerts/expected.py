"""Expected treatment response: who is not on track, by two documented methods.

- ``etr``: a log-linear expected course given the intake score with a one-sided tolerance band
  (Finch, Lambert & Schaalje, 2001), parameters from ``expected_response.yaml`` or fitted from
  the clinic's own completed episodes.
- ``nn``: nearest neighbours (Lutz et al., 2005): the expected score is the mean of the most
  similar completed episodes at the same session, the band that mean ± z times their SD.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from alliance.core.alerts.frame import BoolArray, FloatArray, Frame

MIN_SD = 1.0  # points: the narrowest tolerance band a fitted model may have


@dataclass(frozen=True)
class EtrParameters:
    centre: float
    a: float
    b: float
    sd: float
    fitted_from: int = 0  # episodes; 0 means the documented default


@cache
def _defaults() -> dict[str, Any]:
    text = (resources.files("alliance.core.alerts") / "expected_response.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def default_parameters(instrument_id: str) -> EtrParameters | None:
    params = _defaults()["instruments"].get(instrument_id)
    return EtrParameters(**params) if params else None


def relative_session(frame: Frame) -> FloatArray:
    """Session number counted from the group's first administration (first = 1)."""
    first = frame.group_first_index()
    return (frame.session - frame.session[first] + 1).astype(np.float64)


def etr_expected(params: EtrParameters, intake: FloatArray, s: FloatArray) -> FloatArray:
    return intake + (params.a + params.b * (intake - params.centre)) * np.log(np.maximum(s, 1.0))


def fit_etr(reference: Frame, instrument_index: int, min_episodes: int) -> EtrParameters | None:
    """Least-squares ETR parameters from completed episodes, or None if there are too few.

    Only episodes with at least two administrations inform the course; the residual SD is
    floored at ``MIN_SD`` points, since no measure is free of error and a near-zero band would
    flag every wobble.
    """
    sub = reference.select(reference.instrument == instrument_index)
    s = relative_session(sub)
    episode = np.cumsum(sub.group_start) - 1
    followed = np.unique(episode[s >= 2])
    if followed.shape[0] < min_episodes:
        return None
    intake = sub.total[sub.group_first_index()]
    later = s >= 2
    centre = float(np.mean(sub.total[sub.group_start][followed]))
    log_s = np.log(s[later])
    design = np.column_stack([log_s, (intake[later] - centre) * log_s])
    change = sub.total[later] - intake[later]
    (a, b), *_ = np.linalg.lstsq(design, change, rcond=None)
    residual = change - design @ np.array([a, b])
    sd = float(np.std(residual))
    if not all(np.isfinite([a, b, sd])):
        return None
    return EtrParameters(
        centre=centre,
        a=float(a),
        b=float(b),
        sd=max(sd, MIN_SD),
        fitted_from=int(followed.shape[0]),
    )


def reference_matrix(
    reference: Frame, instrument_index: int, max_session: int | None = None
) -> FloatArray:
    """Completed episodes as rows of scores by relative session (NaN where not measured);
    as many columns as the longest episode unless ``max_session`` says."""
    sub = reference.select(reference.instrument == instrument_index)
    s = relative_session(sub).astype(np.int64)
    if max_session is None:
        max_session = max(int(s.max()) if s.size else 0, 1)
    episode = np.cumsum(sub.group_start) - 1
    matrix = np.full((int(sub.group_start.sum()), max_session), np.nan)
    keep = s <= max_session
    matrix[episode[keep], s[keep] - 1] = sub.total[keep]
    return matrix


def nn_bounds(
    matrix: FloatArray, history: FloatArray, s: int, k: int, higher_is_better: bool, z: float
) -> tuple[float, float] | None:
    """Expected score and the worse-side band (mean ± z SD) at session ``s`` from the k nearest episodes.

    ``history`` holds the client's scores at sessions 1..s-1 (NaN where missing); similarity is
    the root mean squared difference over the sessions both have.
    """
    if s > matrix.shape[1]:
        return None
    candidates = matrix[~np.isnan(matrix[:, s - 1])]
    if candidates.shape[0] < k:
        return None
    past = candidates[:, : s - 1]
    diff = past - history[None, : s - 1]
    with np.errstate(invalid="ignore"):
        counts = np.sum(~np.isnan(diff), axis=1)
        distance = np.sqrt(np.nansum(diff**2, axis=1) / np.maximum(counts, 1))
    distance[counts == 0] = np.inf
    nearest = candidates[np.argsort(distance, kind="stable")[:k], s - 1]
    mean, spread = float(np.mean(nearest)), float(np.std(nearest, ddof=1))
    return mean, mean + (-z if higher_is_better else z) * spread


def worse_than(observed: FloatArray, bound: FloatArray, higher_is_better: bool) -> BoolArray:
    """Whether observed scores are on the worse side of ``bound``."""
    result: BoolArray = observed < bound if higher_is_better else observed > bound
    return result
