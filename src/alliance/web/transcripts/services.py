"""Store an uploaded transcript, analyse it with the core, and delete it per clinic policy.

Uploads are read and checked before anything is stored, so a malformed file leaves the
session untouched; the reading happens in a child process with a time limit (a hostile file
never blocks the server), and the (slow) model analysis then runs in a background job
(:mod:`alliance.web.transcripts.tasks`, its lease in :mod:`alliance.web.transcripts.jobs`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.roles import match_speaker
from alliance.web.accounts.models import TranscriptDeletion, User
from alliance.web.clinic.models import Session
from alliance.web.limits import MAX_UPLOAD_BYTES
from alliance.web.transcripts import jobs, tasks
from alliance.web.transcripts.models import Transcript, TranscriptStatus

#: Stored file names are cut to this length (keeping the extension); the name is only a label.
MAX_FILENAME_CHARS = 200


class UploadError(ValueError):
    """The uploaded file cannot be used; the message says why, in one line."""


@dataclass
class ParsedUpload:
    """What the reader found in an upload: enough to store it and check the counselor's name."""

    text: str
    source_format: str
    speakers: list[str] = field(default_factory=list)


def parse_upload(data: bytes, filename: str) -> ParsedUpload:
    """Decode and read an upload into exactly one transcript, or raise UploadError.

    The decoding and reading run once, in a child process killed after
    ``ALLIANCE_UPLOAD_PARSE_SECONDS``, which returns the decoded text with what it found.
    """
    if not data:
        raise UploadError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    found = _read_in_child(data)
    if "error" in found:
        raise UploadError(str(found["error"]))
    return ParsedUpload(str(found["text"]), str(found["format"]), list(map(str, found["speakers"])))


def _read_in_child(data: bytes) -> dict[str, Any]:
    limit = settings.ALLIANCE_UPLOAD_PARSE_SECONDS
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG", "TMPDIR")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "alliance.core.transcripts.checkfile"],
            input=data,
            capture_output=True,
            timeout=limit,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        raise UploadError(
            f"reading the file took longer than the limit of {limit} s; it does not look "
            "like a transcript this app can read"
        ) from None
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        raise UploadError(
            "the file could not be read (the reader stopped: the file may be malformed or "
            "need more memory than allowed)"
        ) from None
    return result


def store_upload(
    session: Session, user: User, data: bytes, filename: str, counselor: str = ""
) -> Transcript:
    """Validate, then store a queued transcript and enqueue its analysis after commit."""
    parsed = parse_upload(data, filename)
    if counselor:
        try:  # stored as the transcript spells it, so the job needs no second match
            counselor = match_speaker(parsed.speakers, counselor)
        except TranscriptError as exc:
            raise UploadError(str(exc)) from None
    with transaction.atomic():
        transcript = Transcript.objects.create(
            session=session,
            uploaded_by=user,
            filename=short_filename(filename),
            source_format=parsed.source_format,
            counselor_speaker=counselor,
            text=parsed.text,
            heartbeat_at=timezone.now(),
        )
        transaction.on_commit(lambda: tasks.enqueue(transcript.pk))
    return transcript


def short_filename(filename: str) -> str:
    """The name as a label of at most :data:`MAX_FILENAME_CHARS`, keeping its extension."""
    name = " ".join(filename.split())
    if len(name) <= MAX_FILENAME_CHARS:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        return name[: MAX_FILENAME_CHARS - 1] + "…"
    return f"{stem[: MAX_FILENAME_CHARS - len(ext) - 2]}….{ext}"


def retry_analysis(transcript: Transcript) -> bool:
    """Queue a failed or stalled analysis again with fresh attempts; False if not allowed."""
    if not transcript.can_retry:
        return False
    stuck = Transcript.objects.filter(
        pk=transcript.pk, status=transcript.status, text_deleted_at__isnull=True
    )
    if transcript.status == TranscriptStatus.RUNNING:  # only one whose lease expired
        stuck = stuck.filter(heartbeat_at=transcript.heartbeat_at)
    again = stuck.update(
        status=TranscriptStatus.QUEUED,
        attempts=0,
        error="",
        lease_owner="",
        finished_at=None,
        heartbeat_at=timezone.now(),
    )
    if again:
        transaction.on_commit(lambda: tasks.enqueue(transcript.pk))
    return bool(again)


def run_analysis(transcript: Transcript) -> Transcript:
    """Claim and analyse a queued transcript now, in this process (the demo; tests)."""
    owner = jobs.claim(transcript.pk)
    if owner is None:  # taken by a worker, finished or deleted
        transcript.refresh_from_db()
        return transcript
    return tasks.run_claimed(transcript, owner)


def delete_transcript(transcript: Transcript) -> str:
    """Delete per the clinic's policy; returns ``text_deleted`` or ``deleted``."""
    policy = transcript.session.episode.client.clinic.transcript_deletion
    if policy == TranscriptDeletion.DELETE_ALL:
        transcript.delete()
        return "deleted"
    erased = {"text": "", "report": "", "timeline": "", "filename": "", "counselor_speaker": ""}
    rows = Transcript.objects.filter(pk=transcript.pk)
    rows.update(**erased, text_deleted_at=timezone.now())
    # Deleted before its analysis finished: nothing will ever come, so say so (no endless refresh).
    rows.filter(status__in=[TranscriptStatus.QUEUED, TranscriptStatus.RUNNING]).update(
        status=TranscriptStatus.FAILED,
        error="deleted before the analysis finished",
        finished_at=timezone.now(),
    )
    return "text_deleted"


def report_of(transcript: Transcript) -> dict[str, Any] | None:
    """The stored report (decrypted), or None once the text is deleted or before analysis."""
    if not transcript.report:
        return None
    data: dict[str, Any] = json.loads(str(transcript.report))
    return data


def transcripts_by_session(sessions: Any) -> dict[int, list[Transcript]]:
    """Transcripts grouped by session id, oldest first, for the sessions page."""
    grouped: dict[int, list[Transcript]] = {}
    for transcript in Transcript.objects.filter(session__in=sessions).order_by("uploaded_at", "id"):
        grouped.setdefault(transcript.session_id, []).append(transcript)
    return grouped
