"""Contacts, unsubscribing, composing invitations and sending one message exactly once.

The send path checks, at the last moment, that the contact still consents to the channel and
has not unsubscribed (:func:`send_invitation`), and every message is checked for health words
before it leaves (:func:`compose`). :func:`deliver` claims a queued ``Message`` with one
conditional UPDATE (queued -> sending), so two workers given the same message send it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alliance.web.audit.log import record
from alliance.web.messaging.models import (
    ClinicMessaging,
    Contact,
    Message,
    MessageChannel,
    MessageStatus,
)
from alliance.web.messaging.privacy import health_words_in
from alliance.web.messaging.sms import backend

UNSUBSCRIBE_SALT = "alliance.messaging.unsubscribe"
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
    """Stop all messages at once; True the first time (a second click changes nothing)."""
    done = Contact.objects.filter(pk=contact.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now()
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
    """Take a queued message for sending (atomically): False when another worker has it."""
    return bool(
        Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


def deliver(message_id: int) -> str:
    """Send one queued message if this worker claims it; the outcome, in words (no PHI).

    A failure keeps only the exception's class name; the link's token is dropped once sent."""
    if not claim(message_id):
        return "not queued (sent or taken by another worker)"
    message = Message.objects.select_related("link", "client__clinic").get(pk=message_id)
    contact = Contact.objects.select_related("client__clinic").get(client_id=message.client_id)
    url = absolute(reverse("feedback:start", kwargs={"token": message.token}))
    try:
        provider_id = send_invitation(url, contact, message.channel, message.link.expires_at)
    except Exception as exc:  # any failure is recorded by class, never by text
        _finish(message, status=MessageStatus.FAILED, error=type(exc).__name__)
        return f"failed: {type(exc).__name__}"
    _finish(message, status=MessageStatus.SENT, provider_id=provider_id[:200], token="")
    return "sent"


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
