"""Client contact details, their consent, and one row per message sent (never its content).

Addresses are identifying, so they are encrypted at rest like the client's name. A ``Message``
row exists, queued, before anything is sent; its unique (link, kind, channel) constraint and the
claim in :mod:`alliance.web.messaging.services` make a second send of the same message impossible
whatever the number of workers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from alliance.web.accounts.models import Clinic
from alliance.web.clinic.models import Client, Session
from alliance.web.feedback.models import FeedbackLink
from alliance.web.fields import EncryptedTextField


class ConsentHow(models.TextChoices):
    VERBAL = "verbal", "Verbally, in session"
    WRITTEN = "written", "In writing (signed)"
    FORM = "form", "On the intake form"


class MessageChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class MessageKind(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    #: A worker died between its claim and the provider's answer: it may or may not have left,
    #: and at most once means it is not sent again by itself (the counselor can resend).
    UNKNOWN = "unknown", "Unknown (the sender stopped mid-send)"
    #: Nothing left to ask when its time came (answered, or the link used or expired).
    NOT_NEEDED = "not_needed", "Not needed (already answered)"


class Occasion(models.TextChoices):
    """Why the scheduler sent a message ("" for one a counselor sent by hand)."""

    BEFORE_SESSION = "before_session", "Before the session"
    END_OF_SESSION = "end_of_session", "At the end of the session"
    DISCHARGE = "discharge", "At discharge"
    FOLLOW_UP = "follow_up", "Follow-up after discharge"


class Contact(models.Model):
    """How a client may be reached, and the consent that allows it."""

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="contact")
    email = EncryptedTextField(blank=True, default="")
    mobile = EncryptedTextField(blank=True, default="", help_text="E.164, e.g. +447700900123")
    first_name = EncryptedTextField(blank=True, default="")
    email_consent = models.BooleanField(default=False)
    sms_consent = models.BooleanField(default=False)
    consent_how = models.CharField(max_length=20, choices=ConsentHow.choices, blank=True)
    consent_note = EncryptedTextField(blank=True, default="")
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Contact of client #{self.client_id}"

    def consents_to(self, channel: str) -> bool:
        """Consent recorded for ``channel``, an address for it, and not unsubscribed."""
        if self.unsubscribed_at is not None:
            return False
        if channel == MessageChannel.EMAIL:
            return self.email_consent and bool(self.email)
        return channel == MessageChannel.SMS and self.sms_consent and bool(self.mobile)


class ClinicMessaging(models.Model):
    """A clinic's messaging choices; a clinic without a row has the defaults."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="messaging")
    sender_name = models.CharField(
        max_length=100, blank=True, help_text="Who messages say is asking; blank: the clinic name"
    )
    use_first_name = models.BooleanField(
        default=False, help_text="Greet clients by the first name on their contact record"
    )
    # The schedule (docs/messaging.md); the defaults are also those of a clinic without a row.
    scheduled = models.BooleanField(
        default=True, help_text="Send the measure plan's questions by themselves"
    )
    hours_before = models.PositiveSmallIntegerField(
        default=24, help_text="Hours before a session to send its before-session questions"
    )
    at_session_end = models.BooleanField(
        default=True, help_text="Send end-of-session questions when the session ends"
    )
    at_discharge = models.BooleanField(
        default=True, help_text="Send the end-of-treatment satisfaction check at discharge"
    )
    reminder_hours = models.PositiveSmallIntegerField(
        default=48, help_text="Hours after an unanswered invitation to remind once (0: never)"
    )
    follow_up_weeks = models.PositiveSmallIntegerField(
        default=0, help_text="Weeks after discharge to send the outcome measures again (0: never)"
    )

    def __str__(self) -> str:
        return f"Messaging of clinic #{self.clinic_id}"


class Message(models.Model):
    """One message to a client: ids, channel, status and times only; no content, no address.

    ``token`` holds the link's raw token, encrypted, only until the message is sent (the link
    row keeps just its hash, and the sending worker needs the URL)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="messages")
    link = models.ForeignKey(FeedbackLink, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    kind = models.CharField(
        max_length=20, choices=MessageKind.choices, default=MessageKind.INVITATION
    )
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    token = EncryptedTextField(blank=True, default="")
    provider_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=100, blank=True, help_text="Exception class name only")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: Scheduled messages: which session and occasion they are for (unique with kind and
    #: channel, so two schedulers cannot both invite), and when the send is due (also after
    #: a failure: the next retry). ``enqueued_at`` lets a lost queue entry be noticed.
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    occasion = models.CharField(max_length=20, choices=Occasion.choices, blank=True)
    send_after = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["link", "kind", "channel"], name="message_once_per_link_kind_channel"
            ),
            models.UniqueConstraint(
                fields=["session", "occasion", "kind", "channel"],
                condition=~models.Q(occasion=""),
                name="message_once_per_session_occasion",
            ),
        ]
        indexes = [models.Index(fields=["status", "send_after"], name="message_status_due")]

    def __str__(self) -> str:
        return f"Message #{self.pk}"
