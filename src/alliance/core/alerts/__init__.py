"""Early warnings: risk answers, alliance ruptures, not on track, deterioration, no change.

The rules run vectorised over sorted arrays (``frame``), so one client or a whole clinic is
evaluated by the same code: ``rules.evaluate`` takes a prepared frame, ``evaluate_client`` one
client's history, and ``evaluate_episode`` turns an episode's history and stored alerts into
lifecycle actions. The vocabulary (kinds, severities, statuses, verbs, the alert key) lives in
``types``; a clinic's completed episodes are fitted once into a ``Reference``.
"""

from __future__ import annotations

from alliance.core.alerts.episode import (
    current_findings,
    evaluate_client,
    evaluate_episode,
    reference_frame,
)
from alliance.core.alerts.frame import Frame, from_arrays, from_observations
from alliance.core.alerts.lifecycle import Action, Stored, plan_lifecycle
from alliance.core.alerts.not_on_track import Reference, fit_reference, reference_fits
from alliance.core.alerts.rules import evaluate
from alliance.core.alerts.types import (
    KINDS,
    SEVERITY_RANK,
    AlertConfig,
    Finding,
    Key,
    Kind,
    NttMethod,
    Observation,
    Severity,
    Status,
    Verb,
    alert_key,
)

__all__ = [
    "KINDS",
    "SEVERITY_RANK",
    "Action",
    "AlertConfig",
    "Finding",
    "Frame",
    "Key",
    "Kind",
    "NttMethod",
    "Observation",
    "Reference",
    "Severity",
    "Status",
    "Stored",
    "Verb",
    "alert_key",
    "current_findings",
    "evaluate",
    "evaluate_client",
    "evaluate_episode",
    "fit_reference",
    "from_arrays",
    "from_observations",
    "plan_lifecycle",
    "reference_fits",
    "reference_frame",
]
