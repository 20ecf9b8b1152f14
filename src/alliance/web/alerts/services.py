"""Keep a client's alerts in step with the core's findings.

The rules live in ``alliance.core.alerts``; this module only turns completed administrations
into observations, asks the core, and opens, refreshes, re-raises or resolves Alert rows. Until
that module is installed, risk alerts still come straight from the core's ``Score.risk``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from alliance.web.alerts.models import Alert, AlertStatus, Severity
from alliance.web.clinic.models import Administration, AdministrationStatus, Client, Episode

core_alerts: Any
try:  # the alerts core lands separately; see the module docstring
    core_alerts = importlib.import_module("alliance.core.alerts")
except ImportError:  # pragma: no cover - exercised only before the alerts core exists
    core_alerts = None


@dataclass(frozen=True)
class _RiskFinding:
    """The shape of ``alliance.core.alerts.Finding``, for risk flags read from stored scores."""

    client_id: str
    kind: str
    rule: str
    session: int
    instrument: str
    detail: str
    numbers: dict[str, float] = field(default_factory=dict)
    severity: str = "safety"
    suggestion: str | None = None


def _completed(episode: Episode) -> list[Administration]:
    return list(
        Administration.objects.filter(
            session__episode=episode, status=AdministrationStatus.COMPLETED
        )
        .select_related("session")
        .order_by("session__number", "instrument")
    )


def findings_for(episode: Episode) -> list[Any]:
    """The core's findings for the episode's completed administrations."""
    done = _completed(episode)
    client_id = str(episode.client_id)
    if core_alerts is not None:
        observations = [
            core_alerts.Observation(
                client_id=client_id,
                session=a.session.number,
                date=a.session.date,
                instrument=a.instrument,
                total=a.total,
                items=dict(a.answers),
            )
            for a in done
        ]
        return list(core_alerts.evaluate_client(observations))
    return [
        _RiskFinding(
            client_id=client_id,
            kind="risk",
            rule=flag["flag"],
            session=a.session.number,
            instrument=a.instrument,
            detail=flag["message"],
            numbers={"value": float(flag["value"])},
        )
        for a in done
        for flag in a.risk
    ]


def _identity(kind: str, rule: str, instrument: str) -> tuple[str, str, str]:
    return kind, rule, instrument


@transaction.atomic
def refresh_alerts(episode: Episode) -> list[Alert]:
    """Open or refresh an alert per current finding; resolve open non-safety alerts whose
    finding has gone (safety alerts stay until a person acknowledges them)."""
    client: Client = episode.client
    latest: dict[tuple[str, str, str], Any] = {}
    for finding in findings_for(episode):
        key = _identity(finding.kind, finding.rule, finding.instrument)
        if key not in latest or finding.session >= latest[key].session:
            latest[key] = finding
    touched = [_upsert(client, finding) for finding in latest.values()]
    stale = Alert.objects.select_for_update().filter(client=client, status=AlertStatus.OPEN)
    for alert in stale:
        key = _identity(alert.kind, alert.rule, alert.instrument)
        if key not in latest and alert.severity != Severity.SAFETY:
            alert.status = AlertStatus.RESOLVED
            alert.save(update_fields=["status"])
    return [a for a in touched if a is not None]


def _upsert(client: Client, finding: Any) -> Alert | None:
    ident = {
        "client": client,
        "kind": finding.kind,
        "rule": finding.rule,
        "instrument": finding.instrument,
    }
    values = {
        "session_number": finding.session,
        "severity": finding.severity,
        "detail": finding.detail,
        "numbers": {k: float(v) for k, v in dict(finding.numbers).items()},
        "suggestion": finding.suggestion or "",
    }
    existing = Alert.objects.select_for_update().filter(**ident).order_by("-raised_at", "-id")
    open_alert = existing.filter(status=AlertStatus.OPEN).first()
    if open_alert is not None:
        for name, value in values.items():
            setattr(open_alert, name, value)
        open_alert.save()
        return open_alert
    last = existing.first()
    if last is not None and (last.session_number or 0) >= finding.session:
        return None  # already seen and acknowledged for this session: do not nag again
    return Alert.objects.create(**ident, **values)


def acknowledge(alert: Alert, user: Any, note: str) -> Alert:
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = user
    alert.acknowledged_at = timezone.now()
    alert.note = note  # type: ignore[assignment]
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "note"])
    return alert
