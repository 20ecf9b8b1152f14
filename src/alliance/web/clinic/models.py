"""Clients, episodes of care, sessions, measure plans and administrations.

Scores are computed only by ``alliance.core.scoring`` and stored with the answers, so pages and
reports show exactly what the core said at the time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from alliance.core.instruments import bundled_instruments
from alliance.core.outcomes import Ending as CoreEnding
from alliance.web.accounts.models import Clinic
from alliance.web.fields import EncryptedTextField


def instrument_choices() -> list[tuple[str, str]]:
    return [(i.id, i.short_title) for i in bundled_instruments().values()]


class Timing(models.TextChoices):
    BEFORE_SESSION = "before_session", "Before each session"
    END_OF_SESSION = "end_of_session", "End of each session"
    INTAKE = "intake", "At intake"
    DISCHARGE = "discharge", "At discharge"


class ClinicInstrument(models.Model):
    """Which instruments a clinic uses, and when, by default for new episodes."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="instruments")
    instrument = models.CharField(max_length=40, choices=instrument_choices)
    timing = models.CharField(max_length=20, choices=Timing.choices)
    enabled = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "instrument", "timing"], name="uniq_clinic_instrument"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument} ({self.get_timing_display()})"


class Client(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="clients")
    counselor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clients"
    )
    display_name = EncryptedTextField(help_text="Display name or initials")
    external_id = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Client #{self.pk}"

    def current_episode(self) -> Episode | None:
        return self.episodes.order_by(*Episode.NEWEST_FIRST).first()


class Ending(models.TextChoices):
    """How an episode ended: the core's ``outcomes.Ending`` values with their labels, the one
    place the choices are defined (an unplanned ending is a dropout)."""

    PLANNED = CoreEnding.PLANNED.value, "Planned: the work was finished"
    UNPLANNED = CoreEnding.UNPLANNED.value, "Unplanned: the client stopped coming"
    TRANSFERRED = CoreEnding.TRANSFERRED.value, "Transferred to another service"
    OTHER = CoreEnding.OTHER.value, "Other"


class Episode(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="episodes")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    #: Set when the episode closes ("" while open, and for episodes closed before it was asked).
    ending = models.CharField(max_length=20, choices=Ending.choices, blank=True, default="")

    #: The current episode is the first in this order (ids break ties of one day).
    NEWEST_FIRST = ("-opened_on", "-id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(closed_on__isnull=True),
                name="one_open_episode_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"Episode #{self.pk}"


class MeasurePlanItem(models.Model):
    """One line of an episode's measure plan: an instrument and when it is given."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="plan")
    instrument = models.CharField(max_length=40, choices=instrument_choices)
    timing = models.CharField(max_length=20, choices=Timing.choices)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ATTENDED = "attended", "Attended"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


class Session(models.Model):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveIntegerField()
    date = models.DateField()
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    #: The clinic's local time of day; scheduled messages need it (none: sent by hand only).
    starts_at = models.TimeField(null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    #: The questions sent some weeks after discharge (docs/messaging.md), not a session of
    #: treatment: end-of-treatment scores leave it out, so its answers cannot change them.
    follow_up = models.BooleanField(default=False)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "number"], name="uniq_session_number"),
            models.UniqueConstraint(
                fields=["episode"],
                condition=models.Q(follow_up=True),
                name="one_follow_up_per_episode",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.number}"

    @property
    def client(self) -> Client:
        client: Client = self.episode.client
        return client


class Channel(models.TextChoices):
    LINK = "link", "Feedback link"
    TABLET = "tablet", "In-session tablet"
    STAFF = "staff", "Entered by staff"


class AdministrationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"


class Administration(models.Model):
    """One instrument given at one session: per session and instrument at most one completed,
    and at most one waiting (pending or expired) request, which the next link reuses."""

    #: Indexed with ``status`` (``administration_session_status``) instead of on its own.
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="administrations", db_index=False
    )
    instrument = models.CharField(max_length=40, choices=instrument_choices)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.LINK)
    status = models.CharField(
        max_length=20, choices=AdministrationStatus.choices, default=AdministrationStatus.PENDING
    )
    answers = models.JSONField(default=dict, blank=True)
    score = models.JSONField(default=dict, blank=True)
    total = models.FloatField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    due_by = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session__number", "instrument"]
        #: ``expire_overdue`` looks for pending rows past ``due_by`` on every staff page; partial,
        #: so that queries for completed rows keep using the session index.
        #: ``administration_session_status`` answers "has this session a completed measure?"
        #: from the index alone, for every session of a caseload at once (the caseload's
        #: sessions-without-measures count read each administration row: 65 ms of a 5,000-client
        #: clinic's caseload on SQLite, 22 ms with it).
        indexes = [
            models.Index(fields=["session", "status"], name="administration_session_status"),
            models.Index(
                fields=["due_by"],
                condition=models.Q(status="pending"),
                name="administration_pending_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "instrument"],
                condition=models.Q(status="completed"),
                name="one_completed_per_session_instrument",
            ),
            models.UniqueConstraint(
                fields=["session", "instrument"],
                condition=models.Q(status__in=["pending", "expired"]),
                name="one_waiting_per_session_instrument",
            ),
        ]

    @property
    def risk(self) -> list[dict[str, Any]]:
        risk: list[dict[str, Any]] = self.score.get("risk", [])
        return risk
