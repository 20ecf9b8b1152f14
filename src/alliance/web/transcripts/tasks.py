"""Background analysis through Django's tasks API (django-tasks, database-backed worker)."""

from __future__ import annotations

from django_tasks import task

from alliance.web.transcripts.models import Transcript, TranscriptStatus


@task()
def analyse_transcript(transcript_id: int) -> str:
    """Run the core analysis for one stored transcript; safe to run twice."""
    from alliance.web.transcripts.services import run_analysis

    transcript = Transcript.objects.filter(pk=transcript_id).first()
    if transcript is None or transcript.status == TranscriptStatus.DONE or not transcript.has_text:
        return "skipped"
    return run_analysis(transcript).status
