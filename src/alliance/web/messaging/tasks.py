"""Messages go out from the database task queue, so a slow mail server or SMS provider never
holds up a counselor's page. Every message is a row first; its queue entry is written with it
(a counselor's send) or by :func:`dispatch` when its time is near (scheduled sends, retries,
reminders). The worker's claim (``services.claim``) makes a duplicate entry harmless.

:func:`tick` runs in every worker, as it starts and then every half job lease (the transcripts
app's recovery hooks call it): it writes the due invitations (``schedule.run``), queues what is
due, and marks messages left ``sending`` by a dead worker as ``unknown``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from alliance.web.accounts.models import User
from alliance.web.audit.log import record
from alliance.web.feedback.models import FeedbackLink
from alliance.web.messaging import schedule
from alliance.web.messaging.models import Contact, Message, MessageKind, MessageStatus
from alliance.web.messaging.services import NotAllowedError, deliver

#: How far ahead :func:`dispatch` queues (with ``run_after``); more than a tick's interval.
HORIZON = dt.timedelta(minutes=5)
#: A message ``sending`` for longer than this lost its worker (an email or SMS send gives up
#: long before: EMAIL_TIMEOUT is 30 s a step, the SMS request 15 s).
SEND_LEASE = dt.timedelta(minutes=10)


@task()
def send_message(message_id: int) -> str:
    """The queue's entry point: see :func:`services.deliver`."""
    return deliver(message_id)


def queue_invitation(
    link: FeedbackLink, token: str, contact: Contact, channel: str, user: User | None
) -> Message:
    """Record the message, queued, and put it on the queue (both or neither). The unique
    (link, kind, channel) constraint refuses a second invitation for the same link."""
    if not contact.consents_to(channel):
        raise NotAllowedError(channel)
    with transaction.atomic():
        message = Message.objects.create(
            client_id=contact.client_id,
            link=link,
            channel=channel,
            kind=MessageKind.INVITATION,
            token=token,
            created_by=user,
            enqueued_at=timezone.now(),
        )
        send_message.enqueue(message.pk)
    return message


def dispatch(now: dt.datetime) -> int:
    """Queue every queued message due within :data:`HORIZON` that has no live entry: never
    queued, or still waiting a lease after its time (its entry was lost); how many."""
    lease = now - dt.timedelta(seconds=settings.ALLIANCE_JOB_LEASE_SECONDS)
    due = Q(send_after__isnull=True) | Q(send_after__lte=now + HORIZON)
    lost = Q(enqueued_at__lt=lease) & (Q(send_after__isnull=True) | Q(send_after__lt=lease))
    waiting = Message.objects.filter(due, Q(enqueued_at__isnull=True) | lost).filter(
        status=MessageStatus.QUEUED
    )
    queued = 0
    for pk, enqueued_at, send_after in waiting.values_list("pk", "enqueued_at", "send_after"):
        with transaction.atomic():
            # Conditional, so two workers dispatching at once queue it once.
            if Message.objects.filter(pk=pk, enqueued_at=enqueued_at).update(enqueued_at=now):
                run_after = send_after if send_after and send_after > now else None
                send_message.using(run_after=run_after).enqueue(pk)
                queued += 1
    return queued


def mark_unknown(now: dt.datetime) -> int:
    """Messages claimed longer than :data:`SEND_LEASE` ago and still ``sending``: their worker
    died between claim and answer. Whether they left is unknown, and at most once means they
    are not sent again by themselves: marked ``unknown`` (the counselor sees it); how many."""
    stale = Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=now - SEND_LEASE)
    count = 0
    for message in stale.select_related("client"):
        if Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.UNKNOWN, finished_at=now, token=""
        ):
            record(None, "message_unknown", message, clinic_id=message.client.clinic_id)
            count += 1
    return count


def tick(now: dt.datetime | None = None) -> int:
    """One round of the scheduler in a worker; how many messages it queued."""
    now = now or timezone.now()
    mark_unknown(now)
    schedule.run(now, HORIZON)
    return dispatch(now)
