"""Observations as sorted numpy arrays, so every rule runs vectorised over a whole clinic.

Rows are sorted by client, instrument and session; a *group* is one client's series on one
instrument. Recomputing alerts for a million administrations is then a handful of array passes
instead of a million Python-level rule calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from alliance.core.alerts.types import Observation
from alliance.core.instruments import Instrument

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Frame:
    """Sorted observation arrays plus per-row group helpers."""

    clients: NDArray[np.str_]  # distinct client ids; ``client`` indexes into it
    instruments: tuple[str, ...]  # distinct instrument ids; ``instrument`` indexes into it
    client: IntArray
    instrument: IntArray
    session: IntArray
    total: FloatArray
    items: FloatArray  # (rows, max items), NaN where missing
    group_start: BoolArray

    @property
    def size(self) -> int:
        return int(self.session.shape[0])

    def client_id(self, row: int) -> str:
        return str(self.clients[self.client[row]])

    def instrument_id(self, row: int) -> str:
        return self.instruments[int(self.instrument[row])]

    def group_first_index(self) -> IntArray:
        """For each row, the index of the first row of its group."""
        starts = np.flatnonzero(self.group_start)
        return starts[np.cumsum(self.group_start) - 1]

    def previous(self, values: FloatArray) -> FloatArray:
        """The value of the previous row in the same group (NaN at a group's start)."""
        shifted = np.empty_like(values)
        shifted[0:1] = np.nan
        shifted[1:] = values[:-1]
        shifted[self.group_start] = np.nan
        return shifted

    def mean_of_previous(self, values: FloatArray) -> FloatArray:
        """The running mean of the earlier rows in the same group (NaN at a group's start)."""
        csum = np.cumsum(values)
        first = self.group_first_index()
        before_group = np.where(first > 0, csum[first - 1], 0.0)
        sum_previous = csum - values - before_group
        count_previous = np.arange(self.size) - first
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                count_previous > 0, sum_previous / np.maximum(count_previous, 1), np.nan
            )

    def select(self, mask: BoolArray) -> Frame:
        """The rows where ``mask`` holds, with group starts recomputed."""
        client, instrument = self.client[mask], self.instrument[mask]
        return Frame(
            clients=self.clients,
            instruments=self.instruments,
            client=client,
            instrument=instrument,
            session=self.session[mask],
            total=self.total[mask],
            items=self.items[mask],
            group_start=_group_starts(client, instrument),
        )


def _group_starts(client: IntArray, instrument: IntArray) -> BoolArray:
    start = np.ones(client.shape[0], dtype=bool)
    if client.shape[0] > 1:
        start[1:] = (client[1:] != client[:-1]) | (instrument[1:] != instrument[:-1])
    return start


def from_arrays(
    client_ids: Sequence[str] | NDArray[np.str_],
    instrument_ids: Sequence[str] | NDArray[np.str_],
    sessions: Sequence[int] | IntArray,
    totals: Sequence[float | None] | FloatArray,
    items: FloatArray | None = None,
) -> Frame:
    """Build a sorted frame from parallel columns (items: rows x positions, NaN = missing)."""
    clients, client = np.unique(np.asarray(client_ids, dtype=str), return_inverse=True)
    instrument_names, instrument = np.unique(
        np.asarray(instrument_ids, dtype=str), return_inverse=True
    )
    session = np.asarray(sessions, dtype=np.int64)
    total = (
        np.array([np.nan if t is None else t for t in totals], dtype=np.float64)
        if not isinstance(totals, np.ndarray)
        else totals.astype(np.float64)
    )
    item_matrix = (
        np.full((session.shape[0], 1), np.nan)
        if items is None
        else np.asarray(items, dtype=np.float64)
    )
    order = np.lexsort((session, instrument, client))
    client, instrument = client[order].astype(np.int64), instrument[order].astype(np.int64)
    return Frame(
        clients=clients,
        instruments=tuple(str(i) for i in instrument_names),
        client=client,
        instrument=instrument,
        session=session[order],
        total=total[order],
        items=item_matrix[order],
        group_start=_group_starts(client, instrument),
    )


def from_observations(
    observations: Sequence[Observation], instruments: dict[str, Instrument]
) -> Frame:
    """Build a frame from Observation objects, placing item answers in instrument order."""
    width = max(
        [len(instruments[o.instrument].items) for o in observations if o.instrument in instruments]
        + [1]
    )
    items = np.full((len(observations), width), np.nan)
    for row, obs in enumerate(observations):
        instrument = instruments.get(obs.instrument)
        if instrument is None:
            continue
        for position, item in enumerate(instrument.items):
            value = obs.items.get(item.id)
            if value is not None:
                items[row, position] = value
    return from_arrays(
        [o.client_id for o in observations],
        [o.instrument for o in observations],
        [o.session for o in observations],
        [o.total for o in observations],
        items,
    )
