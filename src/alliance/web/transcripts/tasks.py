"""Background analysis through Django's tasks API (django-tasks, database-backed worker)."""

from __future__ import annotations

from django_tasks import TaskContext, task

from alliance.web.transcripts import jobs
from alliance.web.transcripts.models import Transcript


@task(takes_context=True)
def analyse_transcript(context: TaskContext, transcript_id: int) -> str:
    """Claim and analyse one stored transcript; a job already taken or finished is skipped,
    so a duplicate queue entry (or a second worker) never analyses it twice."""
    from alliance.web.transcripts.services import analyse_claimed

    with jobs.stopping_on_signals():
        owner = jobs.claim(transcript_id, task_id=str(context.task_result.id))
        if owner is None:
            return "skipped"
        try:
            return analyse_claimed(Transcript.objects.get(pk=transcript_id), owner).status
        except jobs.LeaseLost:  # presumed dead and requeued: the other worker finishes it
            return "taken over"
