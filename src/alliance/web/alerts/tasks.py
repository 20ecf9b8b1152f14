"""Alert work a client's submission does not wait for, on the database task queue.

Why: a submission raises risk alerts at once (``services.raise_risk_alerts``); recomputing the
other kinds (rupture, not on track, deterioration, no change) reads the whole episode and the
clinic's reference, and a safety email waits on a mail server. So the submitting transaction
writes an :class:`AlertRefresh` marker and a queue entry; a worker refreshes the episode and
sends the emails, then deletes the marker. A worker that dies first leaves the marker, and
:func:`recover_refreshes` (run as every worker starts, and by its lease reaper) queues it again.
Refreshing is idempotent and locks the client, so a duplicate entry or a second worker is safe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from alliance.web.alerts.models import AlertRefresh
from alliance.web.alerts.services import (
    refresh_alerts_planned_first,
    send_pending_notifications,
)
from alliance.web.clinic.models import Episode


@task()
def refresh_episode_alerts(episode_id: int) -> str:
    """The queue's entry point: see :func:`run_refresh`."""
    return run_refresh(episode_id)


def request_refresh(episode: Episode) -> None:
    """Inside the submitting transaction: mark the episode for a refresh and queue it (the queue
    entry is a row in the same transaction, so both exist once the submission does)."""
    now = timezone.now()
    AlertRefresh.objects.bulk_create(  # one upsert statement
        [AlertRefresh(episode=episode, requested_at=now, enqueued_at=now)],
        update_conflicts=True,
        unique_fields=["episode"],
        update_fields=["requested_at", "enqueued_at"],
    )
    refresh_episode_alerts.enqueue(episode.pk)


def run_refresh(episode_id: int) -> str:
    """Send the episode's waiting safety emails, then refresh its alerts and clear the marker
    (unless a newer submission marked it meanwhile, or an email failed: then it stays, and a
    later run retries)."""
    marker = AlertRefresh.objects.filter(pk=episode_id).first()
    if marker is None:
        return "nothing to do"  # another run refreshed it already
    delivered = send_pending_notifications(episode_id)
    episode = Episode.objects.select_related("client").filter(pk=episode_id).first()
    if episode is None:
        return "episode gone"
    # Not inside a transaction of ours: it plans before it locks (a crash before the marker
    # is deleted only means one more, idempotent, refresh).
    refresh_alerts_planned_first(episode)
    if delivered:
        AlertRefresh.objects.filter(pk=episode_id, requested_at__lte=marker.requested_at).delete()
    return "refreshed" if delivered else "refreshed; an email is still to be sent"


def recover_refreshes(now: datetime | None = None) -> int:
    """Queue again every marker queued longer ago than a job lease (its worker died, or an
    email failed); how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ALLIANCE_JOB_LEASE_SECONDS)
    queued = 0
    for episode_id in AlertRefresh.objects.filter(enqueued_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        # Conditional, so two workers recovering at once queue it once.
        if AlertRefresh.objects.filter(pk=episode_id, enqueued_at__lt=cutoff).update(
            enqueued_at=now
        ):
            refresh_episode_alerts.enqueue(episode_id)
            queued += 1
    return queued
