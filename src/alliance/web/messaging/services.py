"""Contacts, unsubscribing, composing invitations and sending one message exactly once.

The send path checks, at the last moment, that the contact still consents to the channel and
has not unsubscribed (:func:`send_invitation`), and every message is checked for health words
before it leaves (:func:`compose`). :func:`deliver` claims a queued ``Message`` with one
conditional UPDATE (queued -> sending), so two workers given the same message send it once.
"""

from __future__ import annotations

import re
import smtplib
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alliance.web.audit.log import record
from alliance.web.clinic.models import Administration, AdministrationStatus, SessionStatus
from alliance.web.feedback.models import FeedbackLink
from alliance.web.messaging.models import (
    ClinicMessaging,
    Contact,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
)
from alliance.web.messaging.privacy import health_words_in
from alliance.web.messaging.sms import SmsUnavailableError, backend

UNSUBSCRIBE_SALT = "alliance.messaging.unsubscribe"
#: Waits before each retry of a send that certainly failed; after the last one it stays failed.
#: Short first (a mail server restarting), then longer (an outage), within a link's life.
RETRY_MINUTES = (5, 30, 120)
DEFAULT_REMINDER_HOURS = ClinicMessaging._meta.get_field("reminder_hours").get_default()
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_SEPARATORS = re.compile(r"[\s().\-]")


class NotAllowedError(Exception):
    """The contact has unsubscribed, or has no consent or address for the channel."""


class HealthWordsError(Exception):
    """A rendered message names a measure, a score or a condition; it is not sent."""


def normalise_mobile(raw: str) -> str:
    """``raw`` as E.164 (``+`` and 7-15 digits), spaces, dots, dashes and brackets removed."""
    number = _SEPARATORS.sub("", raw)
    if number.startswith("00"):
        number = "+" + number[2:]
    if not _E164.fullmatch(number):
        raise ValidationError(
            "Enter the number in international form, e.g. +44 7700 900123.", code="e164"
        )
    return number


def unsubscribe_token(contact: Contact) -> str:
    """A signed, non-expiring token naming the contact: the one-click link needs no account."""
    return signing.dumps(contact.pk, salt=UNSUBSCRIBE_SALT)


def contact_for_token(token: str) -> Contact | None:
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return Contact.objects.filter(pk=pk).first() if isinstance(pk, int) else None


def unsubscribe(contact: Contact) -> bool:
    """Stop all messages at once; True the first time (a second click changes nothing).
    Queued ones (scheduled, reminders, retries) fail now, so the counselor sees them stopped;
    one being sent at this moment is refused by :func:`send_invitation`'s last check."""
    now = timezone.now()
    with transaction.atomic():
        done = Contact.objects.filter(pk=contact.pk, unsubscribed_at__isnull=True).update(
            unsubscribed_at=now
        )
        Message.objects.filter(client_id=contact.client_id, status=MessageStatus.QUEUED).update(
            status=MessageStatus.FAILED, error=NotAllowedError.__name__, token="", finished_at=now
        )
    return bool(done)


def absolute(path: str) -> str:
    return settings.ALLIANCE_BASE_URL.rstrip("/") + path


@dataclass(frozen=True)
class Invitation:
    subject: str
    text: str
    html: str
    sms: str
    unsubscribe_url: str


def compose(contact: Contact, url: str, expires_at: datetime) -> Invitation:
    """The invitation in every form, checked for health words: who asks, the link, and how
    to stop messages. A first name only when the clinic allows it."""
    prefs = ClinicMessaging.objects.filter(clinic_id=contact.client.clinic_id).first()
    sender = (prefs.sender_name if prefs else "") or contact.client.clinic.name
    first_name = contact.first_name if prefs and prefs.use_first_name else ""
    unsubscribe_url = absolute(reverse("messaging:unsubscribe", args=[unsubscribe_token(contact)]))
    context = {
        "sender": sender,
        "first_name": first_name,
        "url": url,
        "expires_at": expires_at,
        "unsubscribe_url": unsubscribe_url,
    }
    invitation = Invitation(
        subject=render_to_string("messaging/invitation_subject.txt", context).strip(),
        text=render_to_string("messaging/invitation.txt", context),
        html=render_to_string("messaging/invitation.html", context),
        sms=" ".join(render_to_string("messaging/invitation_sms.txt", context).split()),
        unsubscribe_url=unsubscribe_url,
    )
    words = health_words_in(" ".join((invitation.subject, invitation.text, invitation.html)))
    if words or health_words_in(invitation.sms):
        raise HealthWordsError(f"{len(words)} health word(s)")  # the words themselves stay out
    return invitation


def send_invitation(url: str, contact: Contact, channel: str, expires_at: datetime) -> str:
    """Send the invitation to ``url``; the provider's message id. Refuses an unsubscribed
    contact, or one without consent and address for ``channel``, whoever calls."""
    contact.refresh_from_db(fields=["unsubscribed_at", "email_consent", "sms_consent"])
    if not contact.consents_to(channel):
        raise NotAllowedError(channel)
    invitation = compose(contact, url, expires_at)
    if channel == MessageChannel.SMS:
        return backend().send(contact.mobile, invitation.sms)
    return _email(contact.email, invitation)


def _email(to: str, invitation: Invitation) -> str:
    message_id = make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or None)
    headers = {
        "Message-ID": message_id,
        # RFC 8058 one-click: mail providers POST "List-Unsubscribe=One-Click" to the link.
        "List-Unsubscribe": f"<{invitation.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    email = EmailMultiAlternatives(invitation.subject, invitation.text, to=[to], headers=headers)
    email.attach_alternative(invitation.html, "text/html")
    email.send()
    return message_id


def claim(message_id: int) -> bool:
    """Take a queued message whose time has come (atomically): False when another worker has
    it, it was sent, or it is not due yet (a retry or reminder queued again too early)."""
    now = timezone.now()
    due = Q(send_after__isnull=True) | Q(send_after__lte=now)
    rows = Message.objects.filter(due, pk=message_id, status=MessageStatus.QUEUED)
    return bool(
        rows.update(status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def deliver(message_id: int) -> str:
    """Send one queued message if this worker claims it; the outcome, in words (no PHI).

    Inside the claim, a message whose questions were answered meanwhile (or whose link was
    used or expired) is not sent. A failure that certainly did not send is queued again after
    :data:`RETRY_MINUTES`, then kept as failed, by the exception's class name only. Once sent,
    the link's token moves to the reminder (if the clinic reminds), else it is dropped."""
    if not claim(message_id):
        return "not queued (sent, not due, or taken by another worker)"
    message = Message.objects.select_related("link__session", "client__clinic").get(pk=message_id)
    if answered(message.link):
        _finish(message, status=MessageStatus.NOT_NEEDED, token="")
        return "not needed: already answered"
    contact = Contact.objects.select_related("client__clinic").get(client_id=message.client_id)
    url = absolute(reverse("feedback:start", kwargs={"token": message.token}))
    try:
        provider_id = send_invitation(url, contact, message.channel, message.link.expires_at)
    except Exception as exc:  # any failure is recorded by class, never by text
        return _failed(message, exc)
    with transaction.atomic():
        _finish(message, status=MessageStatus.SENT, provider_id=provider_id[:200], token="")
        _plan_reminder(message)
    return "sent"


def answered(link: FeedbackLink) -> bool:
    """Nothing left to ask through ``link``: used, expired, its session cancelled or missed,
    or each of its questions completed at its session (by another link, the tablet or staff)."""
    if link.used_at is not None or link.expired:
        return True
    if link.session.status in (SessionStatus.CANCELLED, SessionStatus.NO_SHOW):
        return True
    done = Administration.objects.filter(
        session_id=link.session_id,
        instrument__in=link.instruments,
        status=AdministrationStatus.COMPLETED,
    )
    return done.count() >= len(set(link.instruments))


def retryable(exc: Exception) -> bool:
    """The message certainly did not leave: no connection, or a temporary (4xx) SMTP refusal,
    or the SMS provider's 5xx. A timeout mid-send is not retried (it may have left)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, SmsUnavailableError):
        return str(exc).startswith("HTTP 5")
    return isinstance(exc, ConnectionRefusedError | smtplib.SMTPConnectError | socket.gaierror)


def _failed(message: Message, exc: Exception) -> str:
    error = type(exc).__name__
    if retryable(exc) and message.attempts <= len(RETRY_MINUTES):
        later = timezone.now() + timedelta(minutes=RETRY_MINUTES[message.attempts - 1])
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED, error=error, send_after=later, enqueued_at=None
        )
        return f"retrying later: {error}"
    _finish(message, status=MessageStatus.FAILED, error=error)
    return f"failed: {error}"


def _plan_reminder(message: Message) -> None:
    """Queue the one reminder of a sent invitation, unless the clinic does not remind (the
    unique (link, kind, channel) constraint makes it one)."""
    prefs = ClinicMessaging.objects.filter(clinic_id=message.client.clinic_id).first()
    hours = prefs.reminder_hours if prefs else DEFAULT_REMINDER_HOURS
    if message.kind != MessageKind.INVITATION or not hours:
        return
    Message.objects.get_or_create(
        link=message.link,
        kind=MessageKind.REMINDER,
        channel=message.channel,
        defaults={
            "client_id": message.client_id,
            "token": message.token,
            "session_id": message.session_id,
            "occasion": message.occasion,
            "send_after": timezone.now() + timedelta(hours=hours),
            "created_by_id": message.created_by_id,
        },
    )


def _finish(message: Message, **fields: Any) -> None:
    """Set the outcome (``status`` and its fields) of a message this worker is sending."""
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        finished_at=timezone.now(), **fields
    )
    action = f"message_{fields['status']}"
    record(None, action, message, clinic_id=message.client.clinic_id)


#: A change to any of these (or to an address) records the consent anew: when and by whom.
CONSENT_FIELDS = ("email", "mobile", "email_consent", "sms_consent", "consent_how", "consent_note")


def save_contact(client_id: int, data: dict[str, object], user_id: int) -> Contact:
    """Store the counselor's form; the consent's time and author change when the consent does."""
    contact, _ = Contact.objects.get_or_create(client_id=client_id)
    changed = any(getattr(contact, name) != data[name] for name in CONSENT_FIELDS)
    for name in (*CONSENT_FIELDS, "first_name"):
        setattr(contact, name, data[name])
    if changed:
        contact.consent_at = timezone.now()
        contact.consent_by_id = user_id
    contact.save()
    return contact
