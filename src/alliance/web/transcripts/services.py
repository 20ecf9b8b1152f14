"""Store an uploaded transcript, analyse it with the core, and delete it per clinic policy.

Uploads are read and checked before anything is stored, so a malformed file leaves the
session untouched; the (slow) model analysis then runs in a background task.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from alliance.core.transcripts import report as transcript_report
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.model import Transcript as CoreTranscript
from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.readers import decode_bytes, read_transcripts
from alliance.web.accounts.models import TranscriptDeletion
from alliance.web.clinic.models import Session
from alliance.web.transcripts.models import Transcript, TranscriptStatus

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class UploadError(ValueError):
    """The uploaded file cannot be used; the message says why, in one line."""


def parse_upload(data: bytes, filename: str) -> tuple[str, CoreTranscript]:
    """Decode and read an upload into exactly one transcript, or raise UploadError."""
    if not data:
        raise UploadError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    try:
        text, _warnings = decode_bytes(data)
        found = read_transcripts(text)
    except TranscriptError as exc:
        raise UploadError(str(exc)) from exc
    except (RecursionError, ValueError) as exc:  # e.g. absurdly nested JSON
        raise UploadError("the file's structure could not be read") from exc
    if len(found) != 1:
        raise UploadError(f"the file holds {len(found)} transcripts; upload one session at a time")
    return text, found[0]


def store_upload(
    session: Session, user: Any, data: bytes, filename: str, counselor: str = ""
) -> Transcript:
    """Validate, then store a queued transcript and enqueue its analysis after commit."""
    text, parsed = parse_upload(data, filename)
    if counselor:
        speakers = {u.speaker.casefold(): u.speaker for u in parsed.utterances}
        if counselor.casefold() not in speakers:
            raise UploadError(f"no speaker called {counselor!r} in this transcript")
        counselor = speakers[counselor.casefold()]
    from alliance.web.transcripts.tasks import analyse_transcript

    with transaction.atomic():
        transcript = Transcript.objects.create(
            session=session,
            uploaded_by=user,
            filename=filename[:200],
            source_format=parsed.source_format,
            counselor_speaker=counselor,
            text=text,
        )
        transaction.on_commit(lambda: analyse_transcript.enqueue(transcript.pk))
    return transcript


def run_analysis(transcript: Transcript) -> Transcript:
    """Analyse a stored transcript with the core models and keep the report (the task's body).

    Error messages stored or raised here are our own: core messages can name speakers, and the
    task queue keeps tracebacks in plain text.
    """
    rows = Transcript.objects.filter(pk=transcript.pk)
    rows.update(status=TranscriptStatus.RUNNING)
    try:
        parsed = read_transcripts(str(transcript.text), transcript.source_format or None)[0]
        analysis = analyze_transcript(parsed, counselor=str(transcript.counselor_speaker) or None)
    except (TranscriptError, RecursionError, ValueError):
        _failed(rows, "the transcript could not be read for analysis")
    except BaseException:  # includes a worker stopped mid-task: never leave the row "running"
        _failed(rows, "the analysis was interrupted or failed; upload the transcript again")
        raise RuntimeError("transcript analysis failed") from None
    else:
        report = analysis.to_dict()
        done = {"status": TranscriptStatus.DONE, "error": "", "finished_at": timezone.now()}
        kept = rows.filter(text_deleted_at__isnull=True).update(
            report=json.dumps(report, ensure_ascii=False),
            timeline=transcript_report.timeline_svg(analysis),
            metrics=numeric_metrics(report),
            **done,
        )
        if not kept:  # deleted while it ran: keep the numbers only, never the text
            rows.update(metrics=numeric_metrics(report), **done)
    transcript.refresh_from_db()
    return transcript


def _failed(rows: Any, message: str) -> None:
    rows.update(status=TranscriptStatus.FAILED, error=message, finished_at=timezone.now())


def numeric_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers that may outlive the text: metric values, MI quality and counts."""
    values: dict[str, Any] = {
        m["key"]: m["value"] for m in report["metrics"] if m["value"] is not None
    }
    counselor_rows = [u for u in report["utterances"] if u["role"] == "counselor"]
    values.update(
        mi_quality=report.get("mi_quality"),
        mi_quality_probability=report.get("mi_quality_probability"),
        utterances=len(report["utterances"]),
        counselor_utterances=len(counselor_rows),
    )
    return values


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
