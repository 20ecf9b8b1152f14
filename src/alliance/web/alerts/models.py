"""Alerts raised by the core's rules for one client, and their acknowledgement.

The vocabulary (kinds, severities, statuses) is the core's: ``choices`` are built from its enums
and code compares enum members, never bare strings.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from django.conf import settings
from django.db import models

from alliance.core.alerts import SEVERITY_RANK, Kind, Severity, Status
from alliance.web.accounts.models import Clinic
from alliance.web.clinic.models import Client, Episode
from alliance.web.fields import EncryptedTextField

AlertStatus = Status  # the web app's name for the core's alert statuses
__all__ = ["SEVERITY_RANK", "Alert", "AlertRefresh", "AlertStatus", "ReferenceState", "Severity"]


def choices(vocabulary: type[StrEnum]) -> list[tuple[str, str]]:
    """Django ``choices`` from a core enum whose members have a ``label``."""
    return [(member.value, member.label) for member in vocabulary]  # type: ignore[attr-defined]


class Alert(models.Model):
    """One finding about one client's episode of care. Identity for de-duplication is
    (episode, kind, rule, instrument): at most one open alert per identity; a finding at a later
    session than an acknowledged alert raises it again. Session numbers restart with each
    episode, so a returning client's findings never compare with an earlier episode's."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="alerts")
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=40)
    rule = models.CharField(max_length=80)
    instrument = models.CharField(max_length=40)
    session_number = models.PositiveIntegerField(null=True, blank=True)
    severity = models.CharField(max_length=20, choices=choices(Severity))
    detail = models.TextField()
    numbers = models.JSONField(default=dict, blank=True)
    suggestion = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=choices(Status), default=Status.OPEN.value)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = EncryptedTextField(blank=True, default="")
    #: A safety alert raised while a client submitted: its email is still to be sent (by the
    #: background refresh, so a slow mail server never holds the client's request).
    notify_pending = models.BooleanField(default=False)

    class Meta:
        ordering = ["status", "-raised_at"]
        constraints = [
            # Risk is the exception: every risk answer is an alert of its own (one per session).
            models.UniqueConstraint(
                fields=["episode", "kind", "rule", "instrument"],
                condition=models.Q(status=Status.OPEN.value) & ~models.Q(kind=Kind.RISK.value),
                name="one_open_alert_per_identity",
            ),
            models.UniqueConstraint(
                fields=["episode", "kind", "rule", "instrument", "session_number"],
                condition=models.Q(kind=Kind.RISK.value),
                name="one_risk_alert_per_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity})"

    @property
    def kind_label(self) -> str:
        """``alliance_rupture`` -> ``Alliance rupture``."""
        return Kind(self.kind).label

    @property
    def is_open(self) -> bool:
        return self.status == Status.OPEN


class ReferenceState(models.Model):
    """Which fit of a clinic's closed episodes is current. The token changes whenever they
    change (an episode closes; a measure is recorded in a closed episode), so each process refits
    the expected-response reference once per change instead of on every submission."""

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"reference of clinic {self.clinic_id} ({self.token})"


class AlertRefresh(models.Model):
    """An episode whose alerts (other than risk) still need recomputing after a submission.

    Written in the submitting transaction and deleted by the background job that refreshed
    them, so a worker that dies first leaves the row behind and the next worker redoes it.
    ``requested_at`` tells a job whether a newer submission came in while it ran;
    ``enqueued_at`` when the row last got a queue entry (recovery re-enqueues old ones)."""

    episode = models.OneToOneField(
        Episode, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    enqueued_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"alert refresh for episode {self.episode_id}"
