"""The transcript analysis queue: the django-tasks entry point, enqueueing, and the job's body.

Why one module: the queue entry, the job's body and every requeue (a stopping worker, stale
leases) need the task object, so they live beside it; leases are below (``jobs``), uploads
and deletion above (``services``), and nothing imports upwards (import-linter checks it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from django_tasks import TaskContext, task

from alliance.core.transcripts import report as transcript_report
from alliance.core.transcripts.analysis import analyze_transcript
from alliance.core.transcripts.model import TranscriptError
from alliance.core.transcripts.readers import read_transcripts
from alliance.web.alerts.tasks import recover_refreshes
from alliance.web.transcripts import jobs
from alliance.web.transcripts.models import Transcript, TranscriptStatus, research_pack_on

logger = logging.getLogger(__name__)


@task(takes_context=True)
def run_transcript_job(context: TaskContext, transcript_id: int) -> str:
    """The queue's entry point: run the job (see :func:`run_job`)."""
    return run_job(transcript_id, str(context.task_result.id))


def enqueue(transcript_id: int) -> None:
    """Put the analysis on the queue and remember its entry, so a lost entry can be noticed."""
    result = run_transcript_job.enqueue(transcript_id)
    Transcript.objects.filter(pk=transcript_id, status=TranscriptStatus.QUEUED).update(
        task_id=str(result.id)
    )


def run_job(transcript_id: int, task_id: str) -> str:
    """Claim and analyse one stored transcript; a job already taken or finished is skipped,
    so a duplicate queue entry (or a second worker) never analyses it twice."""
    with jobs.stopping_on_signals():
        owner = jobs.claim(transcript_id, task_id=task_id)
        if owner is None:
            return "skipped"
        try:
            return run_claimed(Transcript.objects.get(pk=transcript_id), owner).status
        except jobs.LeaseLost:  # presumed dead and requeued: the other worker finishes it
            return "taken over"


def run_claimed(transcript: Transcript, owner: str) -> Transcript:
    """Analyse a transcript whose lease ``owner`` holds and keep the report.

    Every write is fenced by the lease, so a worker that lost it never overwrites the work of
    the one that took over. Error messages stored or raised here are our own: core messages
    can name speakers, and the task queue keeps tracebacks in plain text.
    """
    rows = Transcript.objects.filter(pk=transcript.pk, lease_owner=owner)
    try:
        with jobs.held(transcript.pk, owner):
            # The upload was read once before it was stored; this is the job's one reading,
            # in the format found then, with the counselor's name as the transcript spells it.
            parsed = read_transcripts(str(transcript.text), transcript.source_format or None)[0]
            counselor = str(transcript.counselor_speaker) or None
            clinic_id = transcript.session.episode.client.clinic_id
            analysis = analyze_transcript(
                parsed, counselor=counselor, research=research_pack_on(clinic_id)
            )
    except (TranscriptError, RecursionError, ValueError):
        _failed(rows, "the transcript could not be read for analysis")
    except (jobs.WorkerStopping, KeyboardInterrupt, SystemExit):
        if jobs.release(transcript.pk, owner):  # the next worker picks it up again
            enqueue(transcript.pk)
        raise
    except jobs.LeaseLost:  # another worker runs it now; leave the row to that one
        raise
    except BaseException:  # never leave the row "running"
        _failed(rows, "the analysis failed; retry it, or upload the transcript again")
        raise RuntimeError("transcript analysis failed") from None
    else:
        report = analysis.to_dict()
        done = {
            "status": TranscriptStatus.DONE,
            "error": "",
            "finished_at": timezone.now(),
            "lease_owner": "",
        }
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
    rows.update(
        status=TranscriptStatus.FAILED, error=message, finished_at=timezone.now(), lease_owner=""
    )


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


#: Work of higher apps that every worker runs as it starts and then every half lease (e.g. the
#: message scheduler): they register here (``register_worker_hook``) from their AppConfig, so
#: this app never imports them.
_worker_hooks: list[Callable[[datetime], object]] = []


def register_worker_hook(hook: Callable[[datetime], object]) -> None:
    if hook not in _worker_hooks:
        _worker_hooks.append(hook)


def recover_stale(now: datetime | None = None) -> int:
    """Requeue (or fail, after too many attempts) jobs no live worker holds, then run the
    registered worker hooks; how many jobs."""
    requeue, failed = jobs.reclaim_stale(now)
    recover_refreshes(now)  # alert refreshes a dead worker left behind (alerts.tasks)
    for hook in _worker_hooks:
        try:
            hook(now or timezone.now())
        except Exception as exc:  # one hook's failure must not stop the others
            logger.warning("worker hook failed (%s); retrying later", type(exc).__name__)
    for transcript_id in requeue:
        enqueue(transcript_id)
    return len(requeue) + failed


def supervise_worker() -> None:
    """Call once as a worker process starts: recover stale jobs now, then every half lease."""
    with contextlib.suppress(DatabaseError):  # e.g. a locked SQLite file: the reaper retries
        recover_stale()
    thread = threading.Thread(target=_reaper, daemon=True, name="alliance-job-reaper")
    thread.start()


def _reaper() -> None:
    stop = threading.Event()  # never set: the thread ends with the worker process
    while not stop.wait(settings.ALLIANCE_JOB_LEASE_SECONDS / 2):
        try:
            recover_stale()
        except Exception as exc:  # keep watching; the next round may succeed
            logger.warning("stale-job check failed (%s); retrying", type(exc).__name__)
        finally:
            connection.close()
