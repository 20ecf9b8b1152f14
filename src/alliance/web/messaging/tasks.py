"""Messages go out from the database task queue, so a slow mail server or SMS provider never
holds up a counselor's page. The ``Message`` row and its queue entry are written in one
transaction; the worker's claim (``services.claim``) makes a duplicate entry harmless."""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from alliance.web.accounts.models import User
from alliance.web.feedback.models import FeedbackLink
from alliance.web.messaging.models import Contact, Message, MessageKind
from alliance.web.messaging.services import NotAllowedError, deliver


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
        )
        send_message.enqueue(message.pk)
    return message
