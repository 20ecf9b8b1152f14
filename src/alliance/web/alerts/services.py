"""Keep a client's alerts in step with the core's findings.

The rules and the lifecycle live in ``alliance.core.alerts``; this module loads an episode's
completed administrations and stored alerts, asks the core for the lifecycle actions
(``evaluate_episode``) and applies them to Alert rows (keeping acknowledged rows as history).

The clinic's closed episodes are fitted once into a core ``Reference`` and cached per process,
keyed by the clinic's ``ReferenceState`` token: closing an episode (or recording a measure in a
closed one) changes the token and refits, so a submission only reads the cache.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alliance.core.alerts import (
    Action,
    AlertConfig,
    Finding,
    Frame,
    Key,
    Kind,
    Observation,
    Reference,
    Stored,
    Verb,
    alert_key,
    evaluate_episode,
    fit_reference,
    from_arrays,
)
from alliance.web.accounts.models import Role, User
from alliance.web.alerts.models import Alert, AlertStatus, ReferenceState, Severity
from alliance.web.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    Episode,
    Session,
)

logger = logging.getLogger(__name__)


def observations_for(episode: Episode, session: Session | None = None) -> list[Observation]:
    """The episode's completed administrations (only ``session``'s, when given)."""
    done = Administration.objects.filter(
        session__episode=episode, status=AdministrationStatus.COMPLETED
    )
    if session is not None:
        done = done.filter(session=session)
    done = done.select_related("session").order_by("session__number", "instrument")
    return [_observation(episode, a) for a in done]


def _observation(episode: Episode, administration: Administration) -> Observation:
    return Observation(
        client_id=str(episode.client_id),
        session=administration.session.number,
        date=administration.session.date,
        instrument=administration.instrument,
        total=administration.total,
        items=dict(administration.answers),
    )


def alert_config() -> AlertConfig:
    """The clinic-wide alert settings (environment; defaults documented in docs/alerts.md)."""
    return AlertConfig(
        ntt_method=settings.ALLIANCE_NTT_METHOD,
        no_change_session=settings.ALLIANCE_NO_CHANGE_SESSION,
    )


def clinic_reference(clinic_id: int) -> Frame | None:
    """The clinic's closed episodes, from which the core fits the expected treatment response
    (once there are enough of them) and draws nearest neighbours."""
    done = Administration.objects.filter(
        session__episode__client__clinic_id=clinic_id,
        session__episode__closed_on__isnull=False,
        status=AdministrationStatus.COMPLETED,
        total__isnull=False,
    ).values_list("session__episode_id", "instrument", "session__number", "total")
    rows = list(done)
    if not rows:
        return None
    episodes, instruments, sessions, totals = zip(*rows, strict=True)
    return from_arrays([str(e) for e in episodes], list(instruments), list(sessions), list(totals))


_fitted: dict[int, tuple[uuid.UUID, Reference | None]] = {}
_fitted_lock = threading.Lock()


def fitted_reference(clinic_id: int) -> Reference | None:
    """The clinic's fitted reference: from this process's cache while the clinic's token is
    unchanged, else fitted afresh (once per change of its closed episodes)."""
    token = (
        ReferenceState.objects.filter(clinic_id=clinic_id).values_list("token", flat=True).first()
    )
    if token is None:
        token = ReferenceState.objects.get_or_create(clinic_id=clinic_id)[0].token
    with _fitted_lock:
        cached = _fitted.get(clinic_id)
    if cached is not None and cached[0] == token:
        return cached[1]
    return _fit(clinic_id, token)


def reference_changed(clinic_id: int) -> Reference | None:
    """The clinic's closed episodes changed: give it a new token, so every process refits, and
    refit in this one now (call it when an episode closes)."""
    token = uuid.uuid4()
    ReferenceState.objects.update_or_create(clinic_id=clinic_id, defaults={"token": token})
    return _fit(clinic_id, token)


def _fit(clinic_id: int, token: uuid.UUID) -> Reference | None:
    frame = clinic_reference(clinic_id)
    fitted = fit_reference(frame) if frame is not None else None
    with _fitted_lock:
        _fitted[clinic_id] = (token, fitted)
    return fitted


def _key(alert: Alert) -> Key:
    """The core's identity of a finding; the rows compared are one episode's."""
    return alert_key(str(alert.client_id), alert.kind, alert.rule, alert.instrument)


@transaction.atomic
def refresh_alerts(episode: Episode, *, notify: bool = True) -> list[Alert]:
    """Apply the core's lifecycle plan; returns the alerts raised, re-raised or updated.

    ``notify=False`` (history imported from another system) raises safety alerts without the
    email: they show on the caseload, but nobody is told of an old answer as if it were new."""
    reference = _reference_for(episode)
    # Lock the client first: two submissions for one client must not raise the same alert twice.
    Client.objects.select_for_update().get(pk=episode.client_id)
    return _carry_out(episode, *_plan(episode, reference, lock=True), notify=notify)


def refresh_alerts_planned_first(episode: Episode) -> list[Alert]:
    """:func:`refresh_alerts` for the background job: the core plans from a read taken outside
    any transaction, so SQLite (whose write transactions lock the whole file) never holds a
    client's submission while it evaluates; the plan is applied under the client's lock only if
    the episode's answers and alerts are still what it read, else planned again there."""
    reference = _reference_for(episode)
    seen = _inputs(episode)
    planned = _plan(episode, reference)
    with transaction.atomic():
        Client.objects.select_for_update().get(pk=episode.client_id)
        if _inputs(episode, lock=True) != seen:  # a submission or a colleague came in between
            planned = _plan(episode, reference, lock=True)
        return _carry_out(episode, *planned)


def _reference_for(episode: Episode) -> Reference | None:
    """A measure in a closed episode changes the reference; otherwise it's cached."""
    if episode.closed_on is not None:
        return reference_changed(episode.client.clinic_id)
    return fitted_reference(episode.client.clinic_id)


def _inputs(episode: Episode, lock: bool = False) -> tuple[list[Any], list[Any]]:
    """What a plan depends on: the episode's alerts' states and its completed answers."""
    alerts = Alert.objects.filter(episode=episode)
    if lock:
        alerts = alerts.select_for_update()
    states = list(alerts.order_by("id").values_list("id", "status", "session_number"))
    done = Administration.objects.filter(
        session__episode=episode, status=AdministrationStatus.COMPLETED
    )
    return states, list(done.order_by("id").values_list("id", "completed_at", "total"))


def _plan(
    episode: Episode, reference: Reference | None, lock: bool = False
) -> tuple[list[Action], dict[Key, Alert]]:
    """The core's lifecycle actions, and the newest stored alert of each key."""
    rows = Alert.objects.filter(episode=episode).order_by("raised_at", "id")
    if lock:
        rows = rows.select_for_update()
    stored = [(_key(a), Stored(a.status, a.session_number)) for a in rows]
    newest: dict[Key, Alert] = {_key(a): a for a in rows}
    actions = evaluate_episode(observations_for(episode), stored, alert_config(), reference)
    return actions, newest


def _carry_out(
    episode: Episode, actions: list[Action], newest: dict[Key, Alert], notify: bool = True
) -> list[Alert]:
    touched = []
    for action in actions:
        alert = newest.get(action.key)
        if action.verb == Verb.RESOLVE and alert is not None:
            alert.status = AlertStatus.RESOLVED
            alert.save(update_fields=["status"])
        elif action.finding is not None:
            touched.append(_apply(episode, alert, action.verb, action.finding, notify))
    return touched


def raise_risk_alerts(episode: Episode, recorded: Sequence[Administration]) -> list[Alert]:
    """The part of a refresh a client's submission waits for: raise an alert for each new risk
    answer among the administrations just ``recorded`` (of one session). The episode's risk
    alerts are read only when there is a risk answer; the caller holds the client's lock. The
    emails go later (``notify_pending``), by the background refresh, so no mail server holds the
    request."""
    observations = [_observation(episode, a) for a in recorded]
    if not _risk_raised(evaluate_episode(observations, [], alert_config())):
        return []  # stored alerts only ever hold a raise back, so none would be raised
    rows = Alert.objects.filter(episode=episode, kind=Kind.RISK.value)
    stored = [(_key(a), Stored(a.status, a.session_number)) for a in rows]
    return [
        Alert.objects.create(
            client_id=episode.client_id,
            episode=episode,
            kind=finding.kind,
            rule=finding.rule,
            instrument=finding.instrument,
            notify_pending=finding.severity == Severity.SAFETY,
            **_values(finding),
        )
        for finding in _risk_raised(evaluate_episode(observations, stored, alert_config()))
    ]


def _risk_raised(actions: Sequence[Action]) -> list[Finding]:
    return [
        action.finding
        for action in actions
        if action.verb == Verb.RAISE
        and action.finding is not None
        and action.finding.kind == Kind.RISK
    ]


def send_pending_notifications(episode_id: int) -> bool:
    """Email each safety alert of the episode still waiting for its email; False if one failed
    (it stays waiting, so the next refresh of the episode retries it)."""
    delivered = True
    pending = Alert.objects.filter(episode_id=episode_id, notify_pending=True)
    for alert in pending.select_related("client__counselor"):
        # Claimed first: two workers never email the same alert twice.
        if not Alert.objects.filter(pk=alert.pk, notify_pending=True).update(notify_pending=False):
            continue
        try:
            deliver_safety_alert(alert)
        except Exception as exc:
            logger.error("safety alert email failed (alert %s): %s", alert.pk, type(exc).__name__)
            Alert.objects.filter(pk=alert.pk).update(notify_pending=True)
            delivered = False
    return delivered


def _values(finding: Finding) -> dict[str, Any]:
    return {
        "session_number": finding.session,
        "severity": finding.severity,
        "detail": finding.detail,
        "numbers": {k: float(v) for k, v in finding.numbers.items()},
        "suggestion": finding.suggestion or "",
    }


def _apply(
    episode: Episode, alert: Alert | None, verb: Verb, finding: Finding, notify: bool = True
) -> Alert:
    values = _values(finding)
    if alert is None or verb in (Verb.RAISE, Verb.RERAISE):
        created = Alert.objects.create(
            client_id=episode.client_id,
            episode=episode,
            kind=finding.kind,
            rule=finding.rule,
            instrument=finding.instrument,
            **values,
        )
        if notify and created.severity == Severity.SAFETY:
            transaction.on_commit(lambda: notify_safety_alert(created), robust=True)
        return created
    for name, value in values.items():
        setattr(alert, name, value)
    alert.save()
    return alert


def acknowledge(alert: Alert, user: User, note: str) -> bool:
    """Acknowledge an open alert; False if it was not open (already acknowledged or resolved),
    so a stale tab cannot overwrite a colleague's note or revive a resolved alert."""
    updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_by=user,
        acknowledged_at=timezone.now(),
        note=note,
    )
    return updated == 1


def notify_safety_alert(alert: Alert) -> int:
    """Email the client's counselor and their team's supervisors about a new safety alert.

    The message carries no PHI (no name, no answers): only that a safety alert exists and where
    to see it, since email leaves the clinic's control.
    """
    try:
        return deliver_safety_alert(alert)
    except Exception as exc:  # the answers are saved; the alert shows on the dashboard regardless
        logger.error("safety alert email failed (alert %s): %s", alert.pk, type(exc).__name__)
        return 0


def deliver_safety_alert(alert: Alert) -> int:
    """Send the safety alert email (no PHI); raises if the mail server fails."""
    recipients = _safety_recipients(alert.client)
    if not recipients:
        return 0
    path = reverse("dashboard:client", args=[alert.client_id])
    body = (
        "A safety alert was raised for a client on your caseload.\n\n"
        "Follow your clinic's risk protocol. "
        f"Open alliance to see it: {settings.ALLIANCE_BASE_URL.rstrip('/')}{path}\n"
    )
    return send_mail("alliance: safety alert", body, None, recipients, fail_silently=False)


def _safety_recipients(client: Client) -> list[str]:
    counselor = client.counselor
    users = [counselor]
    if counselor.team_id is not None:
        users += list(
            get_user_model().objects.filter(team_id=counselor.team_id, role=Role.SUPERVISOR)
        )
    return sorted({u.email for u in users if u.email and u.is_active})
