"""A session transcript and what the core's analysis made of it.

The transcript text, its file name and everything derived with text in it (coded utterances,
the timeline) are encrypted at rest. ``metrics`` holds numbers only, so a clinic may delete the
text and keep the numbers for supervision and research.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from alliance.web.clinic.models import Session
from alliance.web.fields import EncryptedTextField

#: A queued transcript older than this is shown as stalled (is a worker running?).
QUEUE_PATIENCE = timedelta(minutes=15)


def lease() -> timedelta:
    """How long a running job's lease lasts without a heartbeat (see jobs.py)."""
    return timedelta(seconds=settings.ALLIANCE_JOB_LEASE_SECONDS)


class TranscriptStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for analysis"
    RUNNING = "running", "Being analysed"
    DONE = "done", "Analysed"
    FAILED = "failed", "Analysis failed"


class Transcript(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="transcripts")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    filename = EncryptedTextField(blank=True, default="")
    source_format = models.CharField(max_length=20, blank=True, default="")
    counselor_speaker = EncryptedTextField(blank=True, default="")
    text = EncryptedTextField(blank=True, default="")
    report = EncryptedTextField(blank=True, default="")  # JSON: coded utterances and metrics
    timeline = EncryptedTextField(blank=True, default="")  # SVG with utterance excerpts
    metrics = models.JSONField(default=dict, blank=True)  # numbers only, no text
    status = models.CharField(
        max_length=20, choices=TranscriptStatus.choices, default=TranscriptStatus.QUEUED
    )
    error = models.TextField(blank=True, default="")  # our own messages; never file content
    finished_at = models.DateTimeField(null=True, blank=True)
    text_deleted_at = models.DateTimeField(null=True, blank=True)
    # The background job's lease (see docs/operations.md): while running, the worker refreshes
    # heartbeat_at; while queued it is the time it was queued. A stale one is requeued.
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=80, blank=True, default="")
    task_id = models.CharField(max_length=40, blank=True, default="")  # its queue entry

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"Transcript #{self.pk}"

    @property
    def client(self) -> Any:
        return self.session.episode.client

    @property
    def has_text(self) -> bool:
        return self.text_deleted_at is None

    @property
    def is_pending(self) -> bool:
        return self.status in (TranscriptStatus.QUEUED, TranscriptStatus.RUNNING)

    @property
    def is_stalled(self) -> bool:
        """Pending, but no worker has shown life for longer than it should (see jobs.py)."""
        now, beat = timezone.now(), self.heartbeat_at
        if self.status == TranscriptStatus.RUNNING:
            return beat is None or beat < now - lease()
        if self.status == TranscriptStatus.QUEUED:
            return beat is not None and beat < now - QUEUE_PATIENCE
        return False

    @property
    def auto_refresh(self) -> bool:
        """The page refreshes only while the analysis is progressing, never forever."""
        return self.is_pending and not self.is_stalled

    @property
    def can_retry(self) -> bool:
        stopped = self.status == TranscriptStatus.FAILED or self.is_stalled
        return stopped and self.has_text


class ClinicTranscripts(models.Model):
    """A clinic's transcript-model settings: whether the research pack (EPITOME empathy codes,
    non-commercial research only) is on. A clinic without a row has it off; only a clinic admin
    changes it (``manage_views``), and every change is in the audit log."""

    clinic = models.OneToOneField(
        "accounts.Clinic", on_delete=models.CASCADE, related_name="transcript_settings"
    )
    research_pack = models.BooleanField(
        default=False,
        help_text="Code empathy with the research pack (EPITOME): non-commercial research only",
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Transcript models of clinic #{self.clinic_id}"


def research_pack_on(clinic_id: int | None) -> bool:
    """Whether the clinic has turned the research pack on (off without a settings row)."""
    if clinic_id is None:
        return False
    return ClinicTranscripts.objects.filter(clinic_id=clinic_id, research_pack=True).exists()


class RecordingStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for transcription"
    RUNNING = "running", "Being transcribed"
    DONE = "done", "Transcribed"
    FAILED = "failed", "Transcription failed"


class Recording(models.Model):
    """An uploaded session recording on its way to a transcript (``recordings.py``).

    The audio is a Fernet-encrypted file in the web data dir (``audio_path``) while it exists;
    by clinic policy it is deleted as soon as the transcript exists, or when transcription
    fails. The speakers' labels are the ones written into the transcript (``Speaker 1``...)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="recordings")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    filename = EncryptedTextField(blank=True, default="")
    size_bytes = models.PositiveBigIntegerField(default=0)
    audio_path = models.CharField(max_length=200, blank=True, default="")  # a random name
    audio_deleted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=RecordingStatus.choices, default=RecordingStatus.QUEUED
    )
    progress = models.FloatField(default=0.0)  # share of the audio transcribed, 0..1
    error = models.TextField(blank=True, default="")  # our own messages; never what was said
    transcript = models.OneToOneField(
        Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="recording"
    )
    counselor_confirmed = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker's lease, as for transcripts (jobs.py): refreshed while it transcribes; a
    # running recording whose heartbeat is older than the lease is requeued by any worker.
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"Recording #{self.pk}"

    @property
    def client(self) -> Any:
        return self.session.episode.client

    @property
    def is_pending(self) -> bool:
        return self.status in (RecordingStatus.QUEUED, RecordingStatus.RUNNING)

    @property
    def percent(self) -> int:
        return round(100 * self.progress)
