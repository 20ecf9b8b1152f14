"""Messages to clients: contact and consent, invitations by email (through a real SMTP server
started here) and SMS (through a local server that answers as Twilio's Messages API does),
one-click unsubscribing, sending each message once, and keeping health information out."""

from __future__ import annotations

import base64
import email
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import policy
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from alliance.core.instruments import bundled_instruments
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client, Session
from alliance.web.feedback.services import create_link
from alliance.web.messaging.models import ClinicMessaging, Contact, Message
from alliance.web.messaging.privacy import health_words_in
from alliance.web.messaging.services import (
    HealthWordsError,
    compose,
    deliver,
    normalise_mobile,
    save_contact,
)
from alliance.web.messaging.tasks import queue_invitation

from .served_app import free_port
from .test_web_feedback_concurrency import together
from .web_fixtures import World, logged_in

# The worker commits as in production, so these tests use real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "alex@example.org"
MOBILE = "+447700900123"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "test-auth-token"
TWILIO_FROM = "+15005550006"
INVALID_NUMBER = "+15005550001"  # Twilio's documented test number for "invalid To"


# --- servers -------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping each message that arrives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """A real SMTP server on localhost handing each message to ``handler``; yields its port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_env(port: int) -> dict[str, str]:
    """The ``ALLIANCE_*`` email settings of a served app or worker that sends to ``port``."""
    return {
        "ALLIANCE_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "ALLIANCE_EMAIL_HOST": "127.0.0.1",
        "ALLIANCE_EMAIL_PORT": str(port),
        "ALLIANCE_FROM_EMAIL": "clinic@example.org",
    }


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on localhost, and the app's email settings pointing at it."""
    inbox = Inbox()
    with (
        smtp_server(inbox) as port,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            DEFAULT_FROM_EMAIL="clinic@example.org",
        ),
    ):
        yield inbox


class TwilioStub(BaseHTTPRequestHandler):
    """Answers as Twilio's Messages API documents: 201 and the message JSON, 400 and an error
    JSON for an invalid number, 401 for a wrong account or token."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = self.headers.get("Authorization", "")
        self.received.append({"path": self.path, "form": form, "auth": auth})
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if self.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json" or auth != expected:
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        elif form.get("To") == INVALID_NUMBER:
            message = f"The 'To' number {INVALID_NUMBER} is not a valid phone number."
            self._answer(400, {"code": 21211, "message": message, "status": 400})
        else:
            sid = f"SM{len(self.received):032d}"
            self._answer(201, {"sid": sid, "status": "queued", "to": form.get("To")})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def twilio() -> Iterator[list[dict[str, Any]]]:
    """A local Twilio stand-in, and the SMS settings pointing at it; the requests it got."""
    TwilioStub.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), TwilioStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with override_settings(
            ALLIANCE_SMS_BACKEND="twilio",
            ALLIANCE_SMS_API_URL=f"http://127.0.0.1:{server.server_port}",
            ALLIANCE_SMS_ACCOUNT_SID=TWILIO_SID,
            ALLIANCE_SMS_AUTH_TOKEN=TWILIO_TOKEN,
            ALLIANCE_SMS_FROM=TWILIO_FROM,
        ):
            yield TwilioStub.received
    finally:
        server.shutdown()
        server.server_close()


# --- helpers -------------------------------------------------------------------------------


def consenting(client: Client, **changes: Any) -> Contact:
    data: dict[str, Any] = {
        "email": ADDRESS,
        "mobile": MOBILE,
        "first_name": "Alex",
        "email_consent": True,
        "sms_consent": True,
        "consent_how": "verbal",
        "consent_note": "",
    }
    return save_contact(client.pk, data | changes, client.counselor_id)


def session_of(client: Client) -> Session:
    episode = client.current_episode()
    assert episode is not None
    session: Session = episode.sessions.get()
    return session


def run_worker() -> None:
    """The real django-tasks database worker, processing the queue once."""
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


def send_by(world: World, channel: str) -> Any:
    url = reverse("messaging:send", args=[session_of(world.own).pk, channel])
    return logged_in(world.counselor).post(url)


def parts(message: EmailMessage) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def path_of(url: str) -> str:
    return urlsplit(url).path


# --- email ---------------------------------------------------------------------------------


def test_an_emailed_invitation_arrives_by_smtp_and_its_link_opens_the_questions(
    world: World, smtp: Inbox
) -> None:
    consenting(world.own)
    response = send_by(world, "email")
    assert response.status_code == 200 and b"on its way by email" in response.content
    message = Message.objects.get(kind="invitation")
    assert (message.status, message.channel, message.kind) == ("queued", "email", "invitation")
    assert smtp.messages == []  # nothing leaves before the worker runs

    run_worker()

    assert len(smtp.messages) == 1
    recipients, mail = smtp.messages[0]
    assert recipients == [ADDRESS]
    assert mail["Subject"] == "A few questions from Clinic A"
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html"}
    link = re.search(r"https?://\S+/f/[\w-]+/", body["text/plain"])
    assert link and link.group(0) in body["text/html"]
    questions = HttpClient().get(path_of(link.group(0)), follow=True)
    assert questions.status_code == 200 and b'name="phq9_1"' in questions.content

    unsubscribe = str(mail["List-Unsubscribe"]).strip().strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in unsubscribe and unsubscribe in body["text/plain"]
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_id == mail["Message-ID"]
    assert message.token == "" and message.attempts == 1  # the raw token is kept only until sent
    assert AuditEvent.objects.filter(action="message_sent", object_id=str(message.pk)).exists()


def test_message_bodies_carry_no_health_words_and_no_full_name(
    world: World, smtp: Inbox, twilio: list[dict[str, Any]]
) -> None:
    consenting(world.own)
    for allowed in (False, True):
        ClinicMessaging.objects.update_or_create(
            clinic=world.clinic, defaults={"use_first_name": allowed}
        )
        link, token = create_link(session_of(world.own), world.counselor)
        contact = Contact.objects.get()
        for channel in ("email", "sms"):
            deliver(queue_invitation(link, token, contact, channel, world.counselor).pk)
    texts = [twilio_request["form"]["Body"] for twilio_request in twilio]
    texts += [mail["Subject"] for _, mail in smtp.messages]
    texts += [body for _, mail in smtp.messages for body in parts(mail).values()]
    assert len(texts) == 2 + 2 + 4
    for text in texts:
        assert health_words_in(text) == [], text
        assert "Alex Own" not in text and "Own" not in text
    assert ["Alex" in text for text in texts[:2]] == [False, True]  # first name only if allowed


def test_the_health_word_check_catches_measures_conditions_and_scores() -> None:
    for instrument in bundled_instruments().values():
        assert health_words_in(f"About your {instrument.short_title} today") != []
    for text in ("your depression", "Anxiety clinic", "your score was 18", "self-harm", "Therapy"):
        assert health_words_in(text) != [], text
    assert health_words_in("Harmony Street Practice asks https://x.org/f/gad-7_ocd/") == []


def test_a_clinic_whose_name_is_a_health_word_sends_nothing_until_it_sets_a_sender_name(
    world: World, smtp: Inbox
) -> None:
    world.clinic.name = "Northside Depression Service"
    world.clinic.save()
    contact = consenting(world.own)
    link, token = create_link(session_of(world.own), world.counselor)
    message = queue_invitation(link, token, contact, "email", world.counselor)
    assert deliver(message.pk) == "failed: HealthWordsError"
    assert smtp.messages == []
    ClinicMessaging.objects.create(clinic=world.clinic, sender_name="Northside Service")
    invitation = compose(Contact.objects.get(), "https://x.org/f/t/", timezone.now())
    assert invitation.subject == "A few questions from Northside Service"
    ClinicMessaging.objects.filter(clinic=world.clinic).update(sender_name="")
    with pytest.raises(HealthWordsError):
        compose(Contact.objects.get(), "https://x.org/f/t/", timezone.now())


# --- sms -----------------------------------------------------------------------------------


def test_an_sms_invitation_goes_through_twilios_messages_api(
    world: World, twilio: list[dict[str, Any]]
) -> None:
    consenting(world.own, mobile=normalise_mobile("+44 7700 900 123"))
    assert send_by(world, "sms").status_code == 200
    run_worker()
    assert len(twilio) == 1
    request = twilio[0]
    assert request["path"] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    user, _, password = base64.b64decode(request["auth"].removeprefix("Basic ")).partition(b":")
    assert (user.decode(), password.decode()) == (TWILIO_SID, TWILIO_TOKEN)
    form = request["form"]
    assert (form["To"], form["From"]) == (MOBILE, TWILIO_FROM)
    assert re.search(r"/f/[\w-]+/ ", form["Body"]) and "/u/" in form["Body"]
    message = Message.objects.get(kind="invitation")
    assert (message.status, message.provider_id) == ("sent", f"SM{1:032d}")


def test_an_sms_the_provider_rejects_is_failed_by_error_class_without_the_number(
    world: World, twilio: list[dict[str, Any]]
) -> None:
    consenting(world.own, mobile=INVALID_NUMBER)
    send_by(world, "sms")
    run_worker()
    message = Message.objects.get(kind="invitation")
    assert (message.status, message.error, message.provider_id) == (
        "failed",
        "SmsRejectedError",
        "",
    )
    assert AuditEvent.objects.filter(action="message_failed", outcome="ok").count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM messaging_message")
        stored = repr(cursor.fetchall())
    assert INVALID_NUMBER not in stored and "5550001" not in stored


def test_the_development_backend_writes_texts_to_the_outbox_file(
    world: World, tmp_path: Path
) -> None:
    outbox = tmp_path / "sms.jsonl"
    consenting(world.own)
    with override_settings(ALLIANCE_SMS_BACKEND="outbox", ALLIANCE_SMS_OUTBOX=str(outbox)):
        send_by(world, "sms")
        run_worker()
    [line] = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert line["to"] == MOBILE and "/f/" in line["body"]
    assert Message.objects.get(kind="invitation").provider_id == line["id"]


# --- once only -----------------------------------------------------------------------------


def test_two_workers_given_the_same_message_send_it_once(world: World, smtp: Inbox) -> None:
    contact = consenting(world.own)
    link, token = create_link(session_of(world.own), world.counselor)
    message = queue_invitation(link, token, contact, "email", world.counselor)
    outcomes = together(4, lambda i: deliver(message.pk))
    assert sorted(outcomes).count("sent") == 1
    assert len(smtp.messages) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_duplicate_queue_entries_send_once(world: World, smtp: Inbox) -> None:
    from alliance.web.messaging.tasks import send_message

    consenting(world.own)
    send_by(world, "email")
    message = Message.objects.get(kind="invitation")
    send_message.enqueue(message.pk)  # as if the entry were queued again
    run_worker()
    assert len(smtp.messages) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)  # the second entry found it taken


def test_the_same_link_cannot_be_queued_twice_on_one_channel(world: World) -> None:
    from django.db import IntegrityError

    contact = consenting(world.own)
    link, token = create_link(session_of(world.own), world.counselor)
    queue_invitation(link, token, contact, "email", world.counselor)
    queue_invitation(link, token, contact, "sms", world.counselor)
    with pytest.raises(IntegrityError):
        queue_invitation(link, token, contact, "email", world.counselor)


# --- unsubscribe ---------------------------------------------------------------------------


def test_one_click_unsubscribe_stops_every_later_message(world: World, smtp: Inbox) -> None:
    consenting(world.own)
    send_by(world, "email")
    run_worker()
    unsubscribe = path_of(str(smtp.messages[0][1]["List-Unsubscribe"]).strip().strip("<>"))
    send_by(world, "email")  # queued before the client unsubscribes

    mail_provider = HttpClient(enforce_csrf_checks=True)
    page = mail_provider.get(unsubscribe)
    assert page.status_code == 200 and b"Stop these messages?" in page.content
    assert Contact.objects.get().unsubscribed_at is None  # opening the link changes nothing
    done = mail_provider.post(
        unsubscribe,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    unsubscribed = Contact.objects.get().unsubscribed_at
    assert unsubscribed is not None

    run_worker()
    assert len(smtp.messages) == 1  # the queued one was not sent
    assert list(Message.objects.order_by("pk").values_list("kind", "status", "error")) == [
        ("invitation", "sent", ""),
        ("reminder", "failed", "NotAllowedError"),  # the sent one's reminder is stopped too
        ("invitation", "failed", "NotAllowedError"),
    ]
    refused = send_by(world, "email")
    assert b"unsubscribed on" in refused.content and Message.objects.count() == 3
    client_page = logged_in(world.counselor).get(reverse("dashboard:client", args=[world.own.pk]))
    assert f"Unsubscribed on {unsubscribed:%-d %b %Y}".encode() in client_page.content
    assert AuditEvent.objects.filter(action="unsubscribe", outcome="ok").count() == 1


def test_a_forged_unsubscribe_token_is_not_found(world: World) -> None:
    contact = consenting(world.own)
    response = HttpClient().post(f"/u/{contact.pk}:forged:signature/")
    assert response.status_code == 404
    assert Contact.objects.get().unsubscribed_at is None


# --- contact form, permissions -------------------------------------------------------------


def test_the_counselor_records_contact_and_consent_encrypted_and_audited(world: World) -> None:
    url = reverse("messaging:contact", args=[world.own.pk])
    http = logged_in(world.counselor)
    assert http.get(url).status_code == 200
    form = {
        "email": ADDRESS,
        "mobile": "+44 (7700) 900-123",
        "email_consent": "on",
        "sms_consent": "on",
        "consent_how": "written",
        "consent_note": "signed at intake",
    }
    assert http.post(url, form).status_code == 302
    contact = Contact.objects.get()
    assert (contact.email, contact.mobile, contact.consent_how) == (ADDRESS, MOBILE, "written")
    assert contact.consent_by == world.counselor and contact.consent_at is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, mobile, consent_note FROM messaging_contact")
        raw = repr(cursor.fetchall())
    assert ADDRESS not in raw and "7700" not in raw and "intake" not in raw
    events = AuditEvent.objects.filter(action="contact_change", outcome="ok")
    assert events.count() == 2  # the access check and the change
    assert ADDRESS not in repr(list(AuditEvent.objects.values()))
    page = http.get(reverse("dashboard:client", args=[world.own.pk])).content.decode()
    assert "May be sent links by email and SMS" in page
    sessions = http.get(reverse("dashboard:sessions", args=[world.own.pk])).content.decode()
    assert "Send a link by email" in sessions and "Send a link by SMS" in sessions


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mobile": "07700 900123"}, "mobile"),
        ({"email": "not-an-address"}, "email"),
        ({"consent_how": ""}, "consent_how"),
        ({"email": ""}, "email"),
    ],
)
def test_the_contact_form_refuses_bad_details(
    world: World, changes: dict[str, str], field: str
) -> None:
    form = {"email": ADDRESS, "mobile": MOBILE, "email_consent": "on", "consent_how": "verbal"}
    response = logged_in(world.counselor).post(
        reverse("messaging:contact", args=[world.own.pk]), form | changes
    )
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not Contact.objects.exists()


@pytest.mark.parametrize("relation", ["teammate", "other_team", "other_clinic"])
def test_other_counselors_and_clinics_get_404(world: World, relation: str) -> None:
    client = world.client_for(relation)
    consenting(client)
    http = logged_in(world.counselor)
    assert http.get(reverse("messaging:contact", args=[client.pk])).status_code == 404
    assert http.post(reverse("messaging:contact", args=[client.pk]), {}).status_code == 404
    send = reverse("messaging:send", args=[session_of(client).pk, "email"])
    assert http.post(send).status_code == 404
    assert not Message.objects.exists()
    assert AuditEvent.objects.filter(outcome="denied").count() == 3


def test_a_clinic_admin_reads_but_cannot_change_contacts(world: World) -> None:
    http = logged_in(world.admin)
    assert http.get(reverse("messaging:contact", args=[world.own.pk])).status_code == 403
    send = reverse("messaging:send", args=[session_of(world.own).pk, "email"])
    assert http.post(send).status_code == 403


def test_without_consent_nothing_is_queued(world: World) -> None:
    consenting(world.own, email_consent=False)
    response = send_by(world, "email")
    assert b"no email consent" in response.content and not Message.objects.exists()


def test_a_link_expiring_soon_still_carries_its_date(world: World, smtp: Inbox) -> None:
    contact = consenting(world.own)
    link, token = create_link(session_of(world.own), world.counselor)
    link.expires_at = timezone.now() + timedelta(days=2)
    link.save()
    deliver(queue_invitation(link, token, contact, "email", world.counselor).pk)
    assert f"{link.expires_at:%-d %B %Y}" in parts(smtp.messages[0][1])["text/plain"]


def test_twilio_errors_become_rejected_or_unavailable(twilio: list[dict[str, Any]]) -> None:
    from django.conf import settings

    from alliance.web.messaging.sms import (
        SmsRejectedError,
        SmsUnavailableError,
        TwilioSmsBackend,
        backend,
    )

    api = settings.ALLIANCE_SMS_API_URL
    assert backend().send(MOBILE, "hello").startswith("SM")
    wrong_token = TwilioSmsBackend(api, TWILIO_SID, "wrong", TWILIO_FROM)
    with pytest.raises(SmsRejectedError, match="HTTP 401"):
        wrong_token.send(MOBILE, "hello")
    with pytest.raises(SmsRejectedError, match="HTTP 400") as rejected:
        backend().send(INVALID_NUMBER, "hello")
    assert INVALID_NUMBER not in str(rejected.value)
    closed = TwilioSmsBackend(f"http://127.0.0.1:{free_port()}", TWILIO_SID, "t", TWILIO_FROM)
    with pytest.raises(SmsUnavailableError):
        closed.send(MOBILE, "hello")
