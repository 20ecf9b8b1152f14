"""What every rule family shares: the rows of one instrument in a frame, and a flagged result.

A rule returns a :class:`Flagged`: the rows where its condition holds and how to describe each
one; ``rules.evaluate`` turns flagged rows into findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from alliance.core.alerts.frame import BoolArray, Frame
from alliance.core.alerts.types import AlertConfig, Kind, Severity
from alliance.core.instruments import Instrument

Describe = Callable[[int], tuple[str, dict[str, float]]]


@dataclass(frozen=True)
class Flagged:
    """Rows where one rule holds, and how to describe each of them."""

    kind: Kind
    rule: str
    severity: Severity
    mask: BoolArray
    describe: Describe


@dataclass(frozen=True)
class InstrumentRows:
    """One instrument's rows of a frame, with the settings the rules read."""

    frame: Frame
    index: int
    instrument: Instrument
    config: AlertConfig
    rows: BoolArray = field(init=False)
    scored: BoolArray = field(init=False)

    def __post_init__(self) -> None:
        rows = self.frame.instrument == self.index
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "scored", rows & np.isfinite(self.frame.total))

    @property
    def name(self) -> str:
        return self.instrument.short_title


def fmt(value: float) -> str:
    """A number as it reads in an alert: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
