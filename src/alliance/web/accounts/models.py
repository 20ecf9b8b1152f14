"""Clinics, teams, staff users with roles, and the counters behind lockout and rate limits."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from alliance.web.fields import EncryptedTextField
from alliance.web.limits import MAX_RECORDING_MB


class TranscriptDeletion(models.TextChoices):
    KEEP_METRICS = "keep_metrics", "Delete the text, keep the numeric skill metrics"
    DELETE_ALL = "delete_all", "Delete the transcript and everything derived from it"


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    transcript_deletion = models.CharField(
        max_length=20,
        choices=TranscriptDeletion.choices,
        default=TranscriptDeletion.KEEP_METRICS,
        help_text="What deleting a session transcript removes (clinic policy).",
    )
    two_factor_roles = models.CharField(
        max_length=100,
        blank=True,
        default="admin,supervisor",
        help_text="Comma-separated roles that must sign in with a second factor (clinic policy).",
    )
    recording_max_mb = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_RECORDING_MB)],
        help_text="Largest session recording a counselor may upload, in MB (clinic setting).",
    )
    delete_recordings = models.BooleanField(
        default=True,
        help_text="Delete a recording's audio as soon as its transcript exists (clinic policy).",
    )

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.name} ({self.clinic})"


class Role(models.TextChoices):
    ADMIN = "admin", "Clinic admin"
    SUPERVISOR = "supervisor", "Supervisor"
    COUNSELOR = "counselor", "Counselor"


class User(AbstractUser):
    """A clinic staff member. Every user belongs to one clinic; counselors and supervisors to a
    team. The role decides which clients they can see (``alliance.web.clinic.access``)."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COUNSELOR)
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )

    @property
    def is_clinic_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_counselor(self) -> bool:
        return self.role == Role.COUNSELOR

    @property
    def is_platform_operator(self) -> bool:
        """Runs the platform through Django admin: an active superuser of no clinic. Clinic users
        never qualify, whatever their flags, so no clinic can reach another through admin."""
        return bool(self.is_active and self.is_superuser and self.clinic_id is None)

    def clean(self) -> None:
        """A user's team belongs to the user's clinic."""
        super().clean()
        if self.team_id is not None and self.team.clinic_id != self.clinic_id:
            raise ValidationError({"team": "This team belongs to another clinic."})


class Throttle(models.Model):
    """A fixed-window counter keyed by a string: login failures per user name, link lookups
    per IP. Kept in the database so every server process sees the same counts."""

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    @classmethod
    def hit(cls, key: str, window_seconds: int) -> int:
        """Count one event for ``key`` and return the count in the current window (one locked,
        atomic step, so concurrent callers each get their own number)."""
        for _attempt in range(2):
            try:
                return cls._hit(key, window_seconds)
            except IntegrityError:  # the row was created and cleared meanwhile: count again
                continue
        return cls._hit(key, window_seconds)

    @classmethod
    def _hit(cls, key: str, window_seconds: int) -> int:
        now = timezone.now()
        with transaction.atomic():
            row, _ = cls.objects.select_for_update().get_or_create(
                key=key, defaults={"window_start": now, "count": 0}
            )
            if row.window_start < now - timedelta(seconds=window_seconds):
                row.window_start, row.count = now, 0
                row.save(update_fields=["window_start", "count"])
            cls.objects.filter(pk=row.pk).update(count=F("count") + 1)
            return int(row.count) + 1

    @classmethod
    def release(cls, key: str) -> None:
        """Give back one event counted by ``hit`` that turned out not to count (a reservation)."""
        cls.objects.filter(key=key, count__gt=0).update(count=F("count") - 1)

    @classmethod
    def current(cls, key: str, window_seconds: int) -> int:
        """The count for ``key`` in the current window, without counting."""
        row = cls.objects.filter(key=key).first()
        if row is None or row.window_start < timezone.now() - timedelta(seconds=window_seconds):
            return 0
        return int(row.count)

    @classmethod
    def clear(cls, key: str) -> None:
        cls.objects.filter(key=key).delete()


class TotpDevice(models.Model):
    """An authenticator app's shared secret (RFC 6238), encrypted at rest. A user has at most one
    confirmed device and one waiting for its first code; ``last_step`` refuses replayed codes."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="totp_devices")
    secret = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(null=True, blank=True)


class RecoveryCode(models.Model):
    """A single-use recovery code, stored as the SHA-256 of an 80-bit random code."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "code_hash"])]
