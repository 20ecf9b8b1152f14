"""Entry points for one client's history: every finding (``evaluate_client``), the findings that
hold now (``current_findings``), and the lifecycle plan for an episode's stored alerts
(``evaluate_episode``), the one call the web app makes after each submission."""

from __future__ import annotations

from collections.abc import Sequence

from alliance.core.alerts.frame import Frame, from_observations
from alliance.core.alerts.lifecycle import Action, Stored, plan_lifecycle
from alliance.core.alerts.not_on_track import Reference
from alliance.core.alerts.rules import evaluate
from alliance.core.alerts.types import AlertConfig, Finding, Key, Kind, Observation
from alliance.core.instruments import Instrument, bundled_instruments


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
    expected: Frame | Reference | None = None,
    instruments: dict[str, Instrument] | None = None,
    events_only: bool = False,
) -> list[Finding]:
    """Every finding in one client's (or several clients') history.

    ``expected`` holds completed episodes, fitted (``fit_reference``) or as a frame (see
    ``reference_frame``); without it, the documented default expected-response parameters are used.
    """
    if not observations:
        return []
    catalogue = instruments or bundled_instruments()
    return evaluate(
        from_observations(observations, catalogue), catalogue, config, expected, events_only
    )


def current_findings(
    observations: Sequence[Observation],
    config: AlertConfig | None = None,
    expected: Frame | Reference | None = None,
    instruments: dict[str, Instrument] | None = None,
) -> list[Finding]:
    """The findings at each instrument's latest scored administration, plus every risk finding
    (each risk answer counts, whatever order the sessions were completed in).

    An unscorable administration is not the latest: it must not resolve the alerts that hold.
    """
    latest: dict[tuple[str, str], int] = {}
    for o in observations:
        if o.total is not None:
            where = (o.client_id, o.instrument)
            latest[where] = max(latest.get(where, o.session), o.session)
    findings = evaluate_client(observations, config, expected, instruments)
    return [
        f
        for f in findings
        if f.kind == Kind.RISK or f.session == latest.get((f.client_id, f.instrument))
    ]


def evaluate_episode(
    observations: Sequence[Observation],
    stored: Sequence[tuple[Key, Stored]],
    config: AlertConfig | None = None,
    expected: Frame | Reference | None = None,
    instruments: dict[str, Instrument] | None = None,
) -> list[Action]:
    """The lifecycle actions for one episode: its completed administrations (``observations``)
    against its stored alerts (``stored``: key and state, oldest first).

    The newest stored alert per key is the one the lifecycle moves on; every stored risk alert
    counts as a recorded risk answer, so none is raised twice.
    """
    newest = dict(stored)
    risks = [(key, alert.session) for key, alert in stored if key[1] == Kind.RISK]
    return plan_lifecycle(
        newest, current_findings(observations, config, expected, instruments), risks
    )
