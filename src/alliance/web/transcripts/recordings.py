"""Session recordings: store one encrypted, transcribe it in the worker, hand the transcript on.

Why here: a recording ends as an ordinary :class:`Transcript` (stored encrypted, analysed by
the transcript job), so this module only adds the step before: the audio is kept as a Fernet
file while it exists, the worker transcribes it on the CPU with ``alliance.core.audio`` (no
network), the VTT is stored through ``services.store_upload`` like an uploaded Zoom file, and
the audio is deleted at once when the clinic's policy says so (the default), or when
transcription fails. Every step is audited; messages never quote what was said.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from alliance.core.audio import AudioError
from alliance.core.audio.decode import is_recording_bytes
from alliance.web.accounts.models import User
from alliance.web.audit.log import record
from alliance.web.clinic.models import Session
from alliance.web.fields import fernet
from alliance.web.keys import web_data_dir
from alliance.web.transcripts import services
from alliance.web.transcripts.models import (
    Recording,
    RecordingStatus,
    Transcript,
    TranscriptStatus,
)
from alliance.web.transcripts.tasks import enqueue as enqueue_analysis

logger = logging.getLogger(__name__)
#: Progress is written at most this often (share of the recording), not at every chunk.
PROGRESS_STEP = 0.02


class RecordingError(ValueError):
    """The upload cannot be used; the message says why, in one line."""


def recordings_dir() -> Path:
    path = web_data_dir() / "recordings"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def check_upload(session: Session, size: int, head: bytes) -> None:
    """Refuse an empty, oversized or non-audio upload before anything is stored."""
    limit_mb = session.episode.client.clinic.recording_max_mb
    if size == 0:
        raise RecordingError("the file is empty")
    if size > limit_mb * 1_000_000:
        raise RecordingError(
            f"the recording is {size / 1e6:,.0f} MB; this clinic's limit is {limit_mb:,} MB"
        )
    if not is_recording_bytes(head):
        raise RecordingError("this is not a recording (wav, mp3, m4a, webm, ogg or flac)")


def store_recording(session: Session, user: User, data: bytes, filename: str) -> Recording:
    """Encrypt the audio to a private file and queue its transcription after commit."""
    check_upload(session, len(data), data[:12])
    name = f"{secrets.token_hex(16)}.audio.fernet"
    target = recordings_dir() / name
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(fernet().encrypt(data))
    try:
        with transaction.atomic():
            recording = Recording.objects.create(
                session=session,
                uploaded_by=user,
                filename=services.short_filename(filename),
                size_bytes=len(data),
                audio_path=name,
            )
            transaction.on_commit(lambda: run_recording_job.enqueue(recording.pk))
    except BaseException:  # no row, no file: an orphan would hold audio nobody can delete
        target.unlink(missing_ok=True)
        raise
    return recording


@task()
def run_recording_job(recording_id: int) -> str:
    """The queue's entry point: transcribe one queued recording (skipped if taken)."""
    return transcribe_recording(recording_id)


def transcribe_recording(recording_id: int) -> str:
    """Claim, transcribe, store the transcript, delete the audio per policy; the new status."""
    claimed = Recording.objects.filter(pk=recording_id, status=RecordingStatus.QUEUED).update(
        status=RecordingStatus.RUNNING,
        progress=0.0,
        heartbeat_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return "skipped"
    recording = Recording.objects.select_related("session__episode__client__clinic").get(
        pk=recording_id
    )
    try:
        with _heartbeat(recording.pk):
            vtt = _transcribe(recording)
        transcript = _store_transcript(recording, vtt)
    except (AudioError, services.UploadError) as exc:
        return _fail(recording, _safe_message(exc))
    except ImportError:
        return _fail(recording, "speech recognition is not installed on this server")
    except Exception:  # never leave the row "running"; the message is ours
        logger.exception("recording transcription failed")
        return _fail(recording, "transcription failed; upload the recording again")
    Recording.objects.filter(pk=recording.pk).update(
        status=RecordingStatus.DONE, progress=1.0, transcript=transcript, finished_at=timezone.now()
    )
    record(None, "recording_transcribed", recording, clinic_id=recording.client.clinic_id)
    if recording.client.clinic.delete_recordings:
        delete_audio(recording, "policy")
    return "done"


@contextmanager
def _heartbeat(recording_id: int) -> Iterator[None]:
    """Refresh the lease from a thread while the models work (a chunk can take minutes)."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.ALLIANCE_JOB_LEASE_SECONDS / 4):
                Recording.objects.filter(pk=recording_id, status=RecordingStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()

    thread = threading.Thread(target=beat, daemon=True, name="alliance-recording-lease")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def recover_stale_recordings(now: datetime | None = None) -> int:
    """Requeue recordings whose worker died mid-transcription (or fail them after
    ``ALLIANCE_JOB_MAX_ATTEMPTS``, deleting the audio); how many. A worker hook (apps.py)."""
    now = now or timezone.now()
    stale = Recording.objects.filter(
        status=RecordingStatus.RUNNING,
        heartbeat_at__lt=now - timedelta(seconds=settings.ALLIANCE_JOB_LEASE_SECONDS),
    )
    found = 0
    for recording in stale.select_related("session__episode__client"):
        rows = Recording.objects.filter(pk=recording.pk, heartbeat_at=recording.heartbeat_at)
        if recording.attempts >= settings.ALLIANCE_JOB_MAX_ATTEMPTS:
            if rows.exists():
                _fail(recording, "transcription stopped repeatedly; upload the recording again")
        elif rows.update(status=RecordingStatus.QUEUED, heartbeat_at=now):
            run_recording_job.enqueue(recording.pk)
        found += 1
    return found


def _transcribe(recording: Recording) -> str:
    from alliance.core.audio.pipeline import cues, speaker_names, to_vtt

    data = fernet().decrypt((recordings_dir() / recording.audio_path).read_bytes())
    shown = [0.0]

    def progress(done: float, total: float) -> None:
        if done / total - shown[0] >= PROGRESS_STEP:
            shown[0] = done / total
            Recording.objects.filter(pk=recording.pk).update(progress=min(shown[0], 0.99))

    words = transcriber().words(io.BytesIO(data), progress=progress)
    return to_vtt(cues(words, speaker_names(None, 2)))


def _store_transcript(recording: Recording, vtt: str) -> Transcript:
    user = recording.uploaded_by
    if user is None:
        raise services.UploadError("the counselor who uploaded the recording has left")
    name = f"{Path(str(recording.filename)).stem or 'recording'}.vtt"
    transcript = services.store_upload(recording.session, user, vtt.encode("utf-8"), name)
    record(None, "transcript_upload", transcript, clinic_id=recording.client.clinic_id)
    return transcript


def _safe_message(exc: Exception) -> str:
    """Core messages name the file and our limits, never its content."""
    return str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)


def _fail(recording: Recording, message: str) -> str:
    Recording.objects.filter(pk=recording.pk).update(
        status=RecordingStatus.FAILED, error=message, finished_at=timezone.now()
    )
    record(None, "recording_transcribed", recording, outcome="failed")
    delete_audio(recording, "failed")
    return "failed"


def delete_audio(recording: Recording, reason: str) -> bool:
    """Remove the encrypted audio file (idempotent); audited with the reason."""
    if not recording.audio_path:
        return False
    (recordings_dir() / recording.audio_path).unlink(missing_ok=True)
    Recording.objects.filter(pk=recording.pk).update(audio_path="", audio_deleted_at=timezone.now())
    recording.audio_path = ""
    record(None, "recording_audio_delete", recording, outcome=reason)
    return True


@cache
def transcriber() -> Any:
    """The models, loaded once per worker process."""
    from alliance.core.audio.pipeline import Transcriber

    return Transcriber()


def speakers_of(transcript: Transcript) -> list[dict[str, Any]]:
    """Each speaker of the analysed transcript with its inferred role and first words' count."""
    report = services.report_of(transcript)
    if not report:
        return []
    found: dict[str, dict[str, Any]] = {}
    for u in report["utterances"]:
        entry = found.setdefault(
            u["speaker"], {"name": u["speaker"], "role": u["role"], "turns": 0}
        )
        entry["turns"] += 1
    return list(found.values())


def confirm_counselor(recording: Recording, speaker: str) -> bool:
    """The counselor says which voice is theirs; the analysis runs again if that changes it."""
    transcript = recording.transcript
    names = [s["name"] for s in speakers_of(transcript)] if transcript else []
    if transcript is None or speaker not in names:
        return False
    current = next(s for s in speakers_of(transcript) if s["name"] == speaker)
    Recording.objects.filter(pk=recording.pk).update(counselor_confirmed=True)
    if current["role"] == "counselor":
        return True
    Transcript.objects.filter(pk=transcript.pk, text_deleted_at__isnull=True).update(
        counselor_speaker=speaker,
        status=TranscriptStatus.QUEUED,
        attempts=0,
        error="",
        report="",
        heartbeat_at=timezone.now(),
    )
    transaction.on_commit(lambda: enqueue_analysis(transcript.pk))
    return True


def open_recordings(sessions: Any) -> list[Recording]:
    """Recordings of these sessions not yet a transcript (waiting, running or failed), for the
    sessions page; one query."""
    return list(
        Recording.objects.filter(session__in=sessions, transcript__isnull=True)
        .select_related("session")
        .order_by("uploaded_at", "id")
    )
