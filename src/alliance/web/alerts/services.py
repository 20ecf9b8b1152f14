"""Keep a client's alerts in step with the core's findings.

The rules and the lifecycle live in ``alliance.core.alerts``; this module turns completed
administrations into observations, asks the core for findings and for the lifecycle actions,
and applies them to Alert rows (keeping acknowledged rows as history).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from alliance.core.alerts import Finding, Observation, evaluate_client, plan_lifecycle
from alliance.web.alerts.models import Alert, AlertStatus, Severity
from alliance.web.clinic.models import Administration, AdministrationStatus, Client, Episode

Key = tuple[str, str, str, str]


def observations_for(episode: Episode) -> list[Observation]:
    done = (
        Administration.objects.filter(
            session__episode=episode, status=AdministrationStatus.COMPLETED
        )
        .select_related("session")
        .order_by("session__number", "instrument")
    )
    return [
        Observation(
            client_id=str(episode.client_id),
            session=a.session.number,
            date=a.session.date,
            instrument=a.instrument,
            total=a.total,
            items=dict(a.answers),
        )
        for a in done
    ]


def current_findings(episode: Episode) -> list[Finding]:
    """The core's findings at each instrument's latest administration."""
    observations = observations_for(episode)
    latest: dict[str, int] = {}
    for o in observations:
        latest[o.instrument] = max(latest.get(o.instrument, 0), o.session)
    return [f for f in evaluate_client(observations) if f.session == latest.get(f.instrument)]


def _key(alert: Alert) -> Key:
    return (str(alert.client_id), alert.kind, alert.rule, alert.instrument)


@transaction.atomic
def refresh_alerts(episode: Episode) -> list[Alert]:
    """Apply the core's lifecycle plan; returns the alerts raised, re-raised or updated."""
    client: Client = episode.client
    rows = Alert.objects.select_for_update().filter(client=client).order_by("raised_at", "id")
    newest: dict[Key, Alert] = {_key(a): a for a in rows}
    stored = {key: alert.status for key, alert in newest.items()}
    touched = []
    for action in plan_lifecycle(stored, current_findings(episode)):
        alert = newest.get(action.key)
        if action.verb == "resolve" and alert is not None:
            alert.status = AlertStatus.RESOLVED
            alert.save(update_fields=["status"])
        elif action.finding is not None:
            touched.append(_apply(client, alert, action.verb, action.finding))
    return touched


def _values(finding: Finding) -> dict[str, Any]:
    return {
        "session_number": finding.session,
        "severity": finding.severity,
        "detail": finding.detail,
        "numbers": {k: float(v) for k, v in finding.numbers.items()},
        "suggestion": finding.suggestion or "",
    }


def _apply(client: Client, alert: Alert | None, verb: str, finding: Finding) -> Alert:
    values = _values(finding)
    newer_safety = (
        alert is not None
        and alert.status == AlertStatus.ACKNOWLEDGED
        and finding.severity == Severity.SAFETY
        and finding.session > (alert.session_number or 0)
    )
    if alert is None or verb in ("raise", "reraise") or newer_safety:
        # A new safety answer after an acknowledgement is a new event someone must see.
        return Alert.objects.create(
            client=client,
            kind=finding.kind,
            rule=finding.rule,
            instrument=finding.instrument,
            **values,
        )
    for name, value in values.items():
        setattr(alert, name, value)
    alert.save()
    return alert


def acknowledge(alert: Alert, user: Any, note: str) -> Alert:
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = user
    alert.acknowledged_at = timezone.now()
    alert.note = note  # type: ignore[assignment]
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "note"])
    return alert
