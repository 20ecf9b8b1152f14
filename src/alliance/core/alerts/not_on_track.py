"""Not on track, by the two methods of ``expected``: the expected treatment response band (ETR)
and nearest neighbours (NN), judged against a clinic's fitted :class:`Reference`.

Fitting reads every completed episode, so a caller fits a reference once (``fit_reference``) and
reuses it for every client until the completed episodes change; ``reference_fits`` counts the
fits made in this process, so that reuse can be checked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from alliance.core.alerts import expected
from alliance.core.alerts.flags import Flagged, InstrumentRows, fmt
from alliance.core.alerts.frame import BoolArray, FloatArray, Frame, IntArray
from alliance.core.alerts.types import Kind, NttMethod, Severity


@dataclass(frozen=True)
class Reference:
    """Completed episodes, fitted: ETR parameters and NN score matrices per instrument id.

    ETR fits are kept whatever their size; ``etr_parameters`` applies the configured minimum
    number of episodes, so one reference serves any ``AlertConfig``.
    """

    etr: Mapping[str, expected.EtrParameters]
    matrices: Mapping[str, FloatArray]  # completed episodes x relative session

    @property
    def episodes(self) -> int:
        """Completed episode series (one per episode and instrument) in the reference."""
        return sum(int(m.shape[0]) for m in self.matrices.values())

    def etr_parameters(
        self, instrument_id: str, min_episodes: int
    ) -> expected.EtrParameters | None:
        """The clinic's fit when it rests on enough episodes, else the documented default."""
        fitted = self.etr.get(instrument_id)
        if fitted is not None and fitted.fitted_from >= min_episodes:
            return fitted
        return expected.default_parameters(instrument_id)


class _Counter:
    def __init__(self) -> None:
        self._lock, self._n = threading.Lock(), 0

    def add(self) -> None:
        with self._lock:
            self._n += 1

    @property
    def value(self) -> int:
        return self._n


_FITS = _Counter()


def reference_fits() -> int:
    """How many references this process has fitted (for tests and benchmarks of caching)."""
    return _FITS.value


def fit_reference(completed: Frame) -> Reference:
    """Fit the expected response and build the neighbour matrices of every instrument, once."""
    _FITS.add()
    etr: dict[str, expected.EtrParameters] = {}
    matrices: dict[str, FloatArray] = {}
    for index, instrument_id in enumerate(completed.instruments):
        fitted = expected.fit_etr(completed, index, min_episodes=1)
        if fitted is not None:
            etr[instrument_id] = fitted
        matrices[instrument_id] = expected.reference_matrix(completed, index)
    return Reference(etr=etr, matrices=matrices)


def not_on_track_flag(
    on: InstrumentRows,
    reference: Reference | None,
    scored: Frame,
    intake: FloatArray,
    s: FloatArray,
) -> Flagged | None:
    """The configured method's flag, or None when it cannot judge (no parameters or reference)."""
    if on.config.ntt_method == NttMethod.NN:
        return _nearest_neighbours(on, reference, scored, s)
    return _expected_response(on, reference, intake, s)


def _expected_response(
    on: InstrumentRows, reference: Reference | None, intake: FloatArray, s: FloatArray
) -> Flagged | None:
    instrument_id = on.instrument.id
    params = (
        reference.etr_parameters(instrument_id, on.config.min_reference_episodes)
        if reference is not None
        else expected.default_parameters(instrument_id)
    )
    if params is None:
        return None
    hib = on.instrument.higher_is_better
    exp = expected.etr_expected(params, intake, s)
    band = exp + (-1.0 if hib else 1.0) * on.config.band_z * params.sd
    total, f = on.frame.total, on.frame
    with np.errstate(invalid="ignore"):
        mask = on.scored & (s >= on.config.ntt_from_session) & expected.worse_than(total, band, hib)
    source = (
        f"fitted from {params.fitted_from} episodes" if params.fitted_from else "default parameters"
    )
    return _flag(
        on,
        "ntt:expected_response",
        mask,
        exp,
        band,
        lambda r: (
            f"{on.name} {fmt(total[r])} at session {f.session[r]} is off the expected course "
            f"(expected {fmt(exp[r])}, tolerance {'down to' if hib else 'up to'} {fmt(band[r])}; {source})"
        ),
    )


def _nearest_neighbours(
    on: InstrumentRows, reference: Reference | None, scored: Frame, s: FloatArray
) -> Flagged | None:
    matrix = reference.matrices.get(on.instrument.id) if reference is not None else None
    if matrix is None:
        return None
    exp, bound, mask = _neighbour_bands(on, matrix, scored, s)
    total, f, k = on.frame.total, on.frame, on.config.neighbours
    return _flag(
        on,
        "ntt:nearest_neighbours",
        mask,
        exp,
        bound,
        lambda r: (
            f"{on.name} {fmt(total[r])} at session {f.session[r]} is worse than {k} "
            f"similar clients at this point (their mean {fmt(exp[r])}, band {fmt(bound[r])})"
        ),
    )


def _flag(
    on: InstrumentRows,
    rule: str,
    mask: BoolArray,
    exp: FloatArray,
    bound: FloatArray,
    says: Callable[[int], str],
) -> Flagged:
    """A not-on-track flag: either method reports the total, the expected score and the bound."""
    total = on.frame.total

    def describe(r: int) -> tuple[str, dict[str, float]]:
        expected_at, bound_at = round(float(exp[r]), 2), round(float(bound[r]), 2)
        return says(r), {"total": float(total[r]), "expected": expected_at, "bound": bound_at}

    return Flagged(Kind.NOT_ON_TRACK, rule, Severity.WARNING, mask, describe)


def _neighbour_bands(
    on: InstrumentRows, matrix: FloatArray, scored: Frame, s: FloatArray
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Each scored row's neighbours' mean and band (from ``ntt_from_session`` on), and whether
    the row is worse than the band; the client's history grows as the rows are walked."""
    rows: IntArray = np.flatnonzero(on.scored)
    max_s = int(s.max()) if s.size else 0
    hib, config, size = on.instrument.higher_is_better, on.config, on.frame.size
    mask = np.zeros(size, dtype=bool)
    exp, bound = np.full(size, np.nan), np.full(size, np.nan)
    history = np.full(max(max_s, 1), np.nan)
    for position, row in enumerate(rows):
        if scored.group_start[position]:
            history[:] = np.nan
        rel = int(s[row])
        if rel >= config.ntt_from_session:
            found = expected.nn_bounds(matrix, history, rel, config.neighbours, hib, config.band_z)
            if found is not None:
                exp[row], bound[row] = found
                mask[row] = bool(
                    expected.worse_than(np.array([on.frame.total[row]]), np.array([found[1]]), hib)[
                        0
                    ]
                )
        if rel <= history.shape[0]:
            history[rel - 1] = on.frame.total[row]
    return exp, bound, mask
