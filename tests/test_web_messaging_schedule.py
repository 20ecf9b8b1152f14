"""The measure plan sends itself: before-session questions a clinic-set number of hours before
a session, end-of-session ones when it ends, the satisfaction check at discharge, one reminder
if nothing was answered (never after an answer), retries with back-off, at most once however
many schedulers and workers run. Emails go through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
import smtplib
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client, Session
from alliance.web.clinic.services import close_episode, create_client, next_session
from alliance.web.messaging import schedule
from alliance.web.messaging.models import ClinicMessaging, Message
from alliance.web.messaging.services import RETRY_MINUTES, deliver, retryable, unsubscribe
from alliance.web.messaging.sms import SmsUnavailableError
from alliance.web.messaging.tasks import SEND_LEASE, mark_unknown, tick

from .test_web_feedback import CALM_PHQ9, HIGH_GAD7
from .test_web_feedback_concurrency import together
from .test_web_messaging import (
    ADDRESS,
    Inbox,
    consenting,
    parts,
    path_of,
    run_worker,
    smtp,
    smtp_server,
)
from .web_fixtures import World, logged_in

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]  # the fixture, shared with the messaging tests


def session_at(client: Client, start: datetime, **fields: Any) -> Session:
    """A new session of the client's open episode starting at ``start`` (local time)."""
    local = timezone.localtime(start)
    episode = client.current_episode()
    assert episode is not None
    return next_session(episode, local.date(), starts_at=local.time(), **fields)


def email_only(client: Client) -> None:
    consenting(client, sms_consent=False, mobile="")


def sent_links(inbox: Inbox) -> list[str]:
    return [
        re.findall(r"https?://\S+/f/\S+/", parts(m)["text/plain"])[0] for _, m in inbox.messages
    ]


def statuses() -> list[tuple[str, str, str]]:
    rows = Message.objects.order_by("pk").values_list("occasion", "kind", "status")
    return list(rows)


def test_before_session_questions_go_the_set_hours_before_and_once(
    world: World, smtp: Inbox
) -> None:
    email_only(world.own)
    now = timezone.now()
    later = session_at(world.own, now + timedelta(hours=30))  # more than 24 h away
    soon = session_at(world.own, now + timedelta(hours=3))
    assert tick() == 1
    run_worker()
    [message] = Message.objects.filter(kind="invitation")
    assert (message.session_id, message.occasion, message.status) == (
        soon.pk,
        "before_session",
        "sent",
    )
    assert sorted(message.link.instruments) == ["gad7", "phq9"]  # the plan's before-session
    assert [to for to, _ in smtp.messages] == [[ADDRESS]]
    events = AuditEvent.objects.filter(object_id=str(message.pk), action__startswith="message_")
    assert sorted(events.values_list("action", flat=True)) == ["message_queue", "message_sent"]
    assert tick() == 0 and Message.objects.filter(kind="invitation").count() == 1
    # With 36 hours set, the later session is due too.
    ClinicMessaging.objects.create(clinic=world.clinic, hours_before=36)
    assert tick() == 1
    assert Message.objects.get(session=later, kind="invitation").occasion == "before_session"


def test_end_of_session_questions_go_when_the_session_ends(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    now = timezone.now()
    ended = session_at(world.own, now - timedelta(minutes=60), duration_minutes=50)
    ending = session_at(world.own, now - timedelta(minutes=47), duration_minutes=50)
    tick()
    run_worker()
    invitations = Message.objects.filter(kind="invitation").order_by("pk")
    assert [(m.session_id, m.occasion) for m in invitations] == [
        (ended.pk, "end_of_session"),  # no before-session message: it has started
        (ending.pk, "end_of_session"),
    ]
    assert invitations[0].link.instruments == ["alliance_check"]
    assert len(smtp.messages) == 1  # the other ends in 3 minutes: queued for then
    waiting = invitations[1]
    assert waiting.status == "queued" and waiting.send_after > timezone.now()
    entry = DBTaskResult.objects.get(args_kwargs__args=[waiting.pk])
    assert entry.run_after == waiting.send_after  # the queue holds it until its time


def test_the_satisfaction_check_goes_at_discharge(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    episode = world.own.current_episode()
    assert episode is not None
    close_episode(episode, "planned")
    tick()
    run_worker()
    [message] = Message.objects.filter(kind="invitation")
    assert (message.occasion, message.status) == ("discharge", "sent")
    assert message.link.instruments == ["satisfaction_check"]
    assert len(smtp.messages) == 1


def test_settings_switch_occasions_off(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    ClinicMessaging.objects.create(clinic=world.clinic, at_session_end=False, at_discharge=False)
    now = timezone.now()
    session_at(world.own, now - timedelta(minutes=60))
    assert tick() == 0
    ClinicMessaging.objects.filter(clinic=world.clinic).update(scheduled=False)
    session_at(world.own, now + timedelta(hours=2))
    assert tick() == 0 and not Message.objects.exists()


def test_no_contact_consent_or_time_means_no_scheduled_message(world: World) -> None:
    now = timezone.now()
    session_at(world.own, now + timedelta(hours=2))  # no contact recorded
    episode = world.teammate.current_episode()
    assert episode is not None
    consenting(world.teammate)
    next_session(episode)  # a session without a time
    assert tick() == 0 and not Message.objects.exists()


def _due_reminders() -> None:
    """As if the reminder delay had passed."""
    Message.objects.filter(kind="reminder").update(send_after=timezone.now() - timedelta(seconds=1))


def test_one_reminder_follows_an_unanswered_invitation(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    session_at(world.own, timezone.now() + timedelta(hours=2))
    tick()
    run_worker()
    reminder = Message.objects.get(kind="reminder")
    expected = timezone.now() + timedelta(hours=48)
    assert reminder.send_after is not None
    assert abs((reminder.send_after - expected).total_seconds()) < 60
    assert tick() == 0  # not before its time
    _due_reminders()
    assert tick() == 1
    run_worker()
    for _ in range(2):
        tick()
        run_worker()
    assert statuses() == [
        ("before_session", "invitation", "sent"),
        ("before_session", "reminder", "sent"),
    ]
    first, second = sent_links(smtp)
    assert first == second  # the same link, once more; and no third message
    assert len(smtp.messages) == 2


def test_an_answered_invitation_is_never_reminded(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    session_at(world.own, timezone.now() + timedelta(hours=2))
    tick()
    run_worker()
    [url] = sent_links(smtp)
    phone = HttpClient()
    token = path_of(url).strip("/").split("/")[-1]
    for step, answers in enumerate((CALM_PHQ9, HIGH_GAD7), start=1):
        answered = phone.post(reverse("feedback:step", args=[token, step]), answers)
        assert answered.status_code == 302
    _due_reminders()
    tick()
    run_worker()
    assert statuses() == [
        ("before_session", "invitation", "sent"),
        ("before_session", "reminder", "not_needed"),
    ]
    assert len(smtp.messages) == 1
    assert AuditEvent.objects.filter(action="message_not_needed").count() == 1


def test_questions_answered_another_way_stop_the_invitation(world: World, smtp: Inbox) -> None:
    """Answered on the tablet after the invitation was queued: checked inside the claim."""
    email_only(world.own)
    ClinicMessaging.objects.create(clinic=world.clinic, reminder_hours=0)
    session = session_at(world.own, timezone.now() + timedelta(hours=2))
    tick()
    [message] = Message.objects.all()
    message.link.used_at = timezone.now()  # as a submission through that link does
    message.link.save()
    run_worker()
    assert statuses() == [("before_session", "invitation", "not_needed")]
    assert not smtp.messages and session.messages.count() == 1


def test_a_session_cancelled_after_its_invitation_gets_no_reminder(
    world: World, smtp: Inbox
) -> None:
    email_only(world.own)
    session = session_at(world.own, timezone.now() + timedelta(hours=2))
    tick()
    run_worker()
    Session.objects.filter(pk=session.pk).update(status="cancelled")
    _due_reminders()
    tick()
    run_worker()
    assert statuses() == [
        ("before_session", "invitation", "sent"),
        ("before_session", "reminder", "not_needed"),
    ]
    assert len(smtp.messages) == 1


def test_unsubscribing_stops_every_scheduled_message(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    now = timezone.now()
    session_at(world.own, now + timedelta(hours=2))
    tick()
    run_worker()
    unsubscribe(world.own.contact)
    _due_reminders()
    session_at(world.own, now + timedelta(hours=5))
    tick()
    run_worker()
    assert statuses() == [
        ("before_session", "invitation", "sent"),
        ("before_session", "reminder", "failed"),
    ]  # the reminder is stopped, and the next session's invitation never written
    assert len(smtp.messages) == 1


def test_schedulers_racing_write_each_invitation_once(world: World, smtp: Inbox) -> None:
    consenting(world.own)  # email and SMS: one row per channel
    session_at(world.own, timezone.now() + timedelta(hours=2))
    written = together(4, lambda i: schedule.run())
    assert sorted(written) == [0, 0, 0, 2]
    assert sorted(Message.objects.values_list("channel", flat=True)) == ["email", "sms"]
    assert Message.objects.values("link").distinct().count() == 1  # the losers' links rolled back


def test_two_workers_racing_send_each_message_once(world: World, smtp: Inbox) -> None:
    """Two workers, each scheduling and then delivering every queued message it sees."""
    for client in (world.own, world.teammate, world.other_team):
        email_only(client)
        session_at(client, timezone.now() + timedelta(hours=2))

    def worker(_: int) -> list[str]:
        tick()
        queued = Message.objects.filter(status="queued").values_list("pk", flat=True)
        return [deliver(pk) for pk in list(queued)]

    outcomes = [o for batch in together(2, worker) for o in batch]
    assert outcomes.count("sent") == 3
    assert len(smtp.messages) == 3
    assert sorted(to for to, _ in smtp.messages) == [[ADDRESS]] * 3


class RefusingInbox(Inbox):
    """An SMTP server that answers 451 (try again later) a set number of times."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            self.refusals -= 1
            return "451 Temporary local problem"
        return await super().handle_DATA(server, session, envelope)


def _retry_now() -> None:
    Message.objects.filter(status="queued").update(send_after=timezone.now())


@pytest.mark.parametrize("refusals", [2, 4])
def test_temporary_failures_are_retried_with_back_off_then_failed(
    world: World, refusals: int
) -> None:
    inbox = RefusingInbox(refusals)
    with smtp_server(inbox) as port:
        email = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_PORT": port}
        with override_settings(EMAIL_HOST="127.0.0.1", **email):
            email_only(world.own)
            ClinicMessaging.objects.create(clinic=world.clinic, reminder_hours=0)
            session_at(world.own, timezone.now() + timedelta(hours=2))
            tick()
            waits = []
            for _ in range(4):
                run_worker()
                message = Message.objects.get()
                if message.status != "queued":
                    break
                assert message.send_after is not None and message.error == "SMTPDataError"
                waits.append(round((message.send_after - timezone.now()).total_seconds() / 60))
                _retry_now()
                tick()
    if refusals == 2:
        assert (message.status, message.attempts, waits) == ("sent", 3, [5, 30])
        assert len(inbox.messages) == 1
    else:
        assert (message.status, message.error) == ("failed", "SMTPDataError")
        assert message.attempts == len(RETRY_MINUTES) + 1 and waits == [5, 30, 120]
        assert not inbox.messages


def test_only_failures_that_certainly_did_not_send_are_retried() -> None:
    assert retryable(ConnectionRefusedError())
    assert retryable(smtplib.SMTPDataError(451, b"later"))
    assert retryable(SmsUnavailableError("HTTP 503"))
    assert not retryable(smtplib.SMTPDataError(554, b"rejected"))
    assert not retryable(smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"no such user")}))
    assert not retryable(SmsUnavailableError("TimeoutError"))  # it may have left
    assert not retryable(TimeoutError())


def test_a_message_left_sending_by_a_dead_worker_becomes_unknown_not_resent(
    world: World, smtp: Inbox
) -> None:
    email_only(world.own)
    session_at(world.own, timezone.now() + timedelta(hours=2))
    tick()
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(  # claimed, then the worker died
        status="sending", claimed_at=timezone.now(), attempts=1
    )
    assert mark_unknown(timezone.now()) == 0  # within the lease it may still be sending
    assert mark_unknown(timezone.now() + SEND_LEASE + timedelta(seconds=1)) == 1
    tick()
    run_worker()
    message.refresh_from_db()
    assert (message.status, message.token) == ("unknown", "")
    assert not smtp.messages
    assert AuditEvent.objects.filter(action="message_unknown").count() == 1


def test_a_lost_queue_entry_is_queued_again(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    session_at(world.own, timezone.now() + timedelta(hours=2))
    tick()
    DBTaskResult.objects.all().delete()  # the entry is gone (e.g. pruned)
    five_minutes_ago = timezone.now() - timedelta(minutes=5)
    Message.objects.update(enqueued_at=five_minutes_ago, send_after=five_minutes_ago)
    assert tick() == 1
    run_worker()
    assert Message.objects.get(kind="invitation").status == "sent"
    assert len(smtp.messages) == 1


def test_a_clinic_admin_edits_the_schedule_audited(world: World) -> None:
    admin = logged_in(world.admin)
    url = reverse("manage:messaging")
    page = admin.get(url)
    assert page.status_code == 200 and b"Hours before a session" in page.content
    data = {
        "sender_name": "Northside",
        "scheduled": "on",
        "hours_before": "12",
        "at_discharge": "on",
        "reminder_hours": "72",
    }
    assert admin.post(url, data).status_code == 302
    prefs = ClinicMessaging.objects.get(clinic=world.clinic)
    assert (prefs.hours_before, prefs.at_session_end, prefs.reminder_hours) == (12, False, 72)
    assert admin.post(url, data | {"hours_before": "500"}).status_code == 200  # over a week
    assert ClinicMessaging.objects.get(clinic=world.clinic).hours_before == 12
    actions = AuditEvent.objects.filter(action__startswith="messaging_settings")
    assert list(actions.order_by("pk").values_list("action", "outcome")) == [
        ("messaging_settings_view", "ok"),
        ("messaging_settings_change", "ok"),
        ("messaging_settings_change", "invalid"),
    ]
    assert logged_in(world.counselor).get(url).status_code == 403


def test_the_new_session_form_takes_a_time(world: World) -> None:
    staff = logged_in(world.counselor)
    day = timezone.localdate()
    url = reverse("clinic:session_new", args=[world.own.pk])
    data = {"date": day, "status": "scheduled", "starts_at": "14:30", "duration_minutes": "45"}
    assert staff.post(url, data).status_code == 302
    session = Session.objects.order_by("-pk").first()
    assert session is not None
    assert (str(session.starts_at), session.duration_minutes) == ("14:30:00", 45)
    page = staff.get(reverse("dashboard:sessions", args=[world.own.pk]))
    assert b'id="id_starts_at"' in page.content


def test_a_round_with_nothing_new_to_write_costs_the_same_for_any_caseload(world: World) -> None:
    """Every 30 s in every worker: already-written occasions cost no query of their own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def round_after_booking(count: int) -> int:
        for _ in range(count):
            client = create_client(world.clinic, world.counselor, "Someone")
            email_only(client)
            session_at(client, timezone.now() + timedelta(hours=2))
        tick()
        with CaptureQueriesContext(connection) as queries:
            assert tick() == 0
        return len(queries)

    assert round_after_booking(3) == round_after_booking(12) <= 7  # 7th: follow-ups due
