"""Leases for background transcript analysis, so a crashed or stopped worker never leaves a
transcript "being analysed" forever.

Why: django-tasks' database worker marks a job RUNNING and forgets it if the process dies
(``kill -9``, out of memory, a server stopped mid-job). The transcript row is the source of
truth instead: a worker claims it with one conditional UPDATE (QUEUED -> RUNNING, so two workers
never analyse it at once), renews ``heartbeat_at`` from a thread while it runs, and every worker
requeues transcripts whose lease has expired (a bounded number of attempts, then FAILED with a
retry button). A worker asked to stop mid-job hands the job back to the queue at once.
Putting jobs on the queue is :mod:`alliance.web.transcripts.tasks`' part (it imports this module).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from alliance.web.transcripts.models import Transcript, TranscriptStatus, lease

#: The queue entry point (in :mod:`alliance.web.transcripts.tasks`, which imports this module).
TASK_PATH = "alliance.web.transcripts.tasks.run_transcript_job"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Sent by the heartbeat thread to its own process when the lease was taken over.
LEASE_LOST_SIGNAL = signal.SIGUSR1
QUEUE_RUNNING = "RUNNING"
QUEUE_READY = "READY"


class WorkerStopping(BaseException):
    """The worker process was asked to stop while it analysed; the job goes back to the queue."""


class LeaseLost(BaseException):
    """Another worker took this job over (this one was presumed dead): stop analysing it."""


def claim(transcript_id: int, task_id: str = "") -> str | None:
    """Take the job if it is queued (atomically); the lease owner's name, or None if taken."""
    owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(6)}"
    taken = Transcript.objects.filter(
        pk=transcript_id, status=TranscriptStatus.QUEUED, text_deleted_at__isnull=True
    ).update(
        status=TranscriptStatus.RUNNING,
        lease_owner=owner,
        heartbeat_at=timezone.now(),
        attempts=F("attempts") + 1,
        **({"task_id": task_id} if task_id else {}),
    )
    return owner if taken else None


def release(transcript_id: int, owner: str) -> bool:
    """A stopping worker returns its job (it needs a new queue entry: True); the attempt does
    not count."""
    back = Transcript.objects.filter(
        pk=transcript_id, lease_owner=owner, status=TranscriptStatus.RUNNING
    ).update(
        status=TranscriptStatus.QUEUED,
        lease_owner="",
        heartbeat_at=timezone.now(),
        attempts=F("attempts") - 1,
    )
    return bool(back)


@contextmanager
def held(transcript_id: int, owner: str) -> Iterator[None]:
    """Renew the lease while the block runs; a stop asked for (or asked now) raises
    :class:`WorkerStopping` inside it."""
    beat = _Heartbeat(transcript_id, owner)
    beat.start()
    try:
        _STOP.abortable = True
        _STOP.lost = False
        if _STOP.requested:  # the signal came between the claim and here
            raise WorkerStopping("stop requested")
        try:
            yield
        except Exception as exc:
            # The stop signal's exception can surface as another error when it lands inside
            # native code (the model runtime, the tokenizer): the job is still being stopped,
            # so it is handed back, not failed.
            if _STOP.requested:
                raise WorkerStopping("stop requested") from exc
            raise
    finally:
        _STOP.abortable = False
        beat.stop.set()
        beat.join()


class _Heartbeat(threading.Thread):
    """Refreshes ``heartbeat_at`` every quarter lease, on its own database connection."""

    def __init__(self, transcript_id: int, owner: str) -> None:
        super().__init__(daemon=True, name=f"alliance-heartbeat-{transcript_id}")
        self.rows = Transcript.objects.filter(pk=transcript_id, lease_owner=owner)
        self.every = settings.ALLIANCE_JOB_LEASE_SECONDS / 4
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.wait(self.every):
                try:
                    if not self.rows.update(heartbeat_at=timezone.now()):
                        _lease_lost()  # taken over: its writes are fenced; stop computing too
                        return
                except DatabaseError:
                    continue  # e.g. a locked SQLite file; the lease allows several misses
        finally:
            connection.close()


class _Stop:
    """Whether this worker was asked to stop during the current job, and may be interrupted."""

    requested = False
    abortable = False
    lost = False
    interruptible = False  # the main thread handles LEASE_LOST_SIGNAL (inside a worker job)


_STOP = _Stop()


def _lease_lost() -> None:
    """Interrupt the main thread's analysis, where a worker job runs it (signals only reach
    the main thread); elsewhere the fenced writes alone keep the result out."""
    _STOP.lost = True
    if _STOP.interruptible and _STOP.abortable:
        signal.pthread_kill(threading.main_thread().ident or 0, LEASE_LOST_SIGNAL)


def _on_lease_lost(signum: int, frame: FrameType | None) -> None:
    if _STOP.abortable and _STOP.lost:
        raise LeaseLost("the lease was taken over")


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """Wrap a whole job: SIGTERM/SIGINT let the worker's own handler run (stop after this job),
    then interrupt the analysis if one runs (see :func:`held`), so the job is handed back."""
    _STOP.requested = _STOP.lost = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def stop(signum: int, frame: FrameType | None) -> None:
        _STOP.requested = True
        handler = previous.get(signal.Signals(signum))
        if callable(handler):
            handler(signum, frame)  # django-tasks' worker: finish after this job
        if _STOP.abortable:
            raise WorkerStopping(signal.strsignal(signum) or "stop")

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    # Left installed afterwards: a late signal must find a handler that ignores it, not the
    # default action (which would end the process).
    signal.signal(LEASE_LOST_SIGNAL, _on_lease_lost)
    _STOP.interruptible = True
    try:
        yield
    finally:
        _STOP.interruptible = False
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def reclaim_stale(now: datetime | None = None) -> tuple[list[int], int]:
    """Take back jobs no live worker holds: the ids queued again (each needs a new queue
    entry) and how many failed after too many attempts."""
    now = now or timezone.now()
    cutoff = now - lease()
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    requeue: list[int] = []
    failed = 0
    for t in Transcript.objects.filter(stale, status=TranscriptStatus.RUNNING).only("pk"):
        outcome = _recover_running(t.pk, stale, now)
        failed += outcome == "failed"
        requeue += [t.pk] if outcome == "requeued" else []
    queued = Transcript.objects.filter(
        stale, status=TranscriptStatus.QUEUED, text_deleted_at__isnull=True
    )
    for t in queued.only("pk", "task_id"):
        if not _queue_entry_live(t.task_id, cutoff) and _requeue_lost(t.pk, t.task_id, stale):
            requeue.append(t.pk)
    _fail_dead_queue_entries(cutoff)
    return requeue, failed


def _recover_running(pk: int, stale: Q, now: datetime) -> str:
    rows = Transcript.objects.filter(stale, pk=pk, status=TranscriptStatus.RUNNING)
    limit = settings.ALLIANCE_JOB_MAX_ATTEMPTS
    failed = rows.filter(attempts__gte=limit).update(
        status=TranscriptStatus.FAILED,
        lease_owner="",
        finished_at=now,
        error=f"the analysis stopped {limit} times before it finished (the worker was stopped "
        "or ran out of memory); retry it, or ask your administrator to check the worker",
    )
    if failed:
        return "failed"
    requeued = rows.update(status=TranscriptStatus.QUEUED, lease_owner="", heartbeat_at=now)
    return "requeued" if requeued else ""


def _queue_entry_live(task_id: str, cutoff: datetime) -> bool:
    key = _uuid(task_id)
    if key is None:
        return False
    ready = Q(status=QUEUE_READY)
    running = Q(status=QUEUE_RUNNING, started_at__gte=cutoff)
    return DBTaskResult.objects.filter(ready | running, id=key).exists()


def _requeue_lost(pk: int, task_id: str, stale: Q) -> bool:
    """A queued transcript whose queue entry is gone (or died): queue it again, once."""
    taken = Transcript.objects.filter(
        stale, pk=pk, status=TranscriptStatus.QUEUED, task_id=task_id
    ).update(heartbeat_at=timezone.now())
    return bool(taken)


def _fail_dead_queue_entries(cutoff: datetime) -> None:
    """Queue entries left RUNNING by a dead worker: mark them failed so the queue tells the truth."""
    live = set(
        Transcript.objects.filter(
            status=TranscriptStatus.RUNNING, heartbeat_at__gte=cutoff
        ).values_list("task_id", flat=True)
    )
    dead = DBTaskResult.objects.filter(
        status=QUEUE_RUNNING, task_path=TASK_PATH, started_at__lt=cutoff
    ).exclude(id__in=[k for k in map(_uuid, live) if k is not None])
    dead.update(
        status="FAILED",
        finished_at=timezone.now(),
        exception_class_path=f"{__name__}.WorkerLost",
        traceback="the worker stopped while it ran this job; the transcript was requeued",
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
