"""Early warnings: risk answers, alliance ruptures, not on track, deterioration, no change.

The rules run vectorised over sorted arrays (``frame``), so one client or a whole clinic is
evaluated by the same code. ``evaluate_client`` is the convenience entry point for one client's
history; ``rules.evaluate`` takes a prepared frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from alliance.core.alerts.frame import Frame, from_arrays, from_observations
from alliance.core.alerts.lifecycle import Action, Stored, plan_lifecycle
from alliance.core.alerts.rules import evaluate
from alliance.core.alerts.types import KINDS, AlertConfig, Finding, Observation
from alliance.core.instruments import Instrument, bundled_instruments

__all__ = [
    "KINDS",
    "Action",
    "AlertConfig",
    "Finding",
    "Frame",
    "Observation",
    "Stored",
    "evaluate",
    "evaluate_client",
    "from_arrays",
    "from_observations",
    "plan_lifecycle",
    "reference_frame",
]


def reference_frame(
    completed: Sequence[Observation], instruments: dict[str, Instrument] | None = None
) -> Frame | None:
    """A frame of the clinic's completed episodes, used to fit the expected response."""
    if not completed:
        return None
    return from_observations(completed, instruments or bundled_instruments())


def evaluate_client(
    observations: Sequence[Observation],
    config: AlertConfig | None = None,
    expected: Frame | None = None,
    instruments: dict[str, Instrument] | None = None,
    events_only: bool = False,
) -> list[Finding]:
    """Every finding in one client's (or several clients') history.

    ``expected`` is an optional reference frame of completed episodes (see ``reference_frame``);
    without one, the documented default expected-response parameters are used.
    """
    if not observations:
        return []
    catalogue = instruments or bundled_instruments()
    return evaluate(
        from_observations(observations, catalogue), catalogue, config, expected, events_only
    )
