"""All alert rules over a Frame, by family: ``risk``, ``rupture`` (alliance) and ``outcome``
(deterioration, no change, and ``not_on_track``).

Every rule returns a boolean mask of the rows where its condition holds; ``evaluate`` turns the
flagged rows into :class:`Finding` objects with the numbers behind them. With ``events_only`` a
condition that holds at consecutive administrations is reported once, where it starts (risk
answers are always reported, every time).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from alliance.core.alerts.flags import Flagged, InstrumentRows
from alliance.core.alerts.frame import BoolArray, Frame
from alliance.core.alerts.not_on_track import Reference, fit_reference
from alliance.core.alerts.outcome import outcome_flags
from alliance.core.alerts.risk import risk_flags
from alliance.core.alerts.rupture import alliance_flags
from alliance.core.alerts.suggestions import suggestion_for
from alliance.core.alerts.types import SEVERITY_RANK, AlertConfig, Finding, Kind
from alliance.core.instruments import Instrument


def instrument_flags(on: InstrumentRows, reference: Reference | None) -> Iterator[Flagged]:
    """Every rule family that applies to one instrument's rows."""
    yield from risk_flags(on)
    yield from alliance_flags(on)
    yield from outcome_flags(on, reference)


def run_starts(frame: Frame, mask: BoolArray) -> BoolArray:
    """Rows where a condition starts holding (it did not hold at the group's previous row)."""
    previous = np.zeros_like(mask)
    previous[1:] = mask[:-1]
    previous[frame.group_start] = False
    result: BoolArray = mask & ~previous
    return result


def evaluate(
    frame: Frame,
    instruments: dict[str, Instrument],
    config: AlertConfig | None = None,
    reference: Frame | Reference | None = None,
    events_only: bool = False,
) -> list[Finding]:
    """Findings for every flagged row of ``frame``, ordered by client, session and severity.

    ``reference`` holds completed episodes: fitted (see ``fit_reference``) or a frame to fit now.
    """
    config = config or AlertConfig()
    fitted = fit_reference(reference) if isinstance(reference, Frame) else reference
    findings: list[Finding] = []
    for index, instrument_id in enumerate(frame.instruments):
        instrument = instruments.get(instrument_id)
        if instrument is None:
            continue
        on = InstrumentRows(frame, index, instrument, config)
        for flagged in instrument_flags(on, fitted):
            findings.extend(_findings(frame, instrument_id, flagged, events_only))
    findings.sort(key=lambda x: (x.client_id, x.session, SEVERITY_RANK[x.severity], x.kind, x.rule))
    return findings


def _findings(
    frame: Frame, instrument_id: str, flagged: Flagged, events_only: bool
) -> Iterator[Finding]:
    starts = events_only and flagged.kind != Kind.RISK
    mask = run_starts(frame, flagged.mask) if starts else flagged.mask
    suggestion = suggestion_for(flagged.kind, flagged.rule)
    for row in np.flatnonzero(mask):
        detail, numbers = flagged.describe(int(row))
        yield Finding(
            client_id=frame.client_id(int(row)),
            kind=flagged.kind,
            rule=flagged.rule,
            session=int(frame.session[row]),
            instrument=instrument_id,
            detail=detail,
            numbers=numbers,
            severity=flagged.severity,
            suggestion=suggestion,
        )
