"""Alerts raised by the core's rules for one client, and their acknowledgement."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from alliance.web.clinic.models import Client, Episode
from alliance.web.fields import EncryptedTextField


class Severity(models.TextChoices):
    SAFETY = "safety", "Safety"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


SEVERITY_RANK = {Severity.SAFETY: 0, Severity.WARNING: 1, Severity.INFO: 2}


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


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
    severity = models.CharField(max_length=20, choices=Severity.choices)
    detail = models.TextField()
    numbers = models.JSONField(default=dict, blank=True)
    suggestion = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    raised_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = EncryptedTextField(blank=True, default="")

    class Meta:
        ordering = ["status", "-raised_at"]
        constraints = [
            # Risk is the exception: every risk answer is an alert of its own (one per session).
            models.UniqueConstraint(
                fields=["episode", "kind", "rule", "instrument"],
                condition=models.Q(status="open") & ~models.Q(kind="risk"),
                name="one_open_alert_per_identity",
            ),
            models.UniqueConstraint(
                fields=["episode", "kind", "rule", "instrument", "session_number"],
                condition=models.Q(kind="risk"),
                name="one_risk_alert_per_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity})"

    @property
    def kind_label(self) -> str:
        """``alliance_rupture`` -> ``Alliance rupture``."""
        return self.kind.replace("_", " ").capitalize()

    @property
    def is_open(self) -> bool:
        return self.status == AlertStatus.OPEN
