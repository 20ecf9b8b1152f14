"""The measures worklist (issue 15): the caseload's "Measures" column, the "Due today" list and
invitation completion per counselor on the team page.

Each state is made the way the app makes it: sessions by ``next_session``, links by
``create_link``, messages queued by ``queue_invitation`` and sent or failed by the worker's
``deliver`` (Django's in-memory mail outbox in tests), unsubscribing by the client's one-click
POST, answers by ``record_administration``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client, Session
from alliance.web.clinic.services import next_session, record_administration, registry
from alliance.web.dashboard.worklist import State, followups
from alliance.web.feedback.models import FeedbackLink
from alliance.web.feedback.services import create_link
from alliance.web.messaging.models import Contact, Message, MessageStatus
from alliance.web.messaging.services import RETRY_MINUTES, deliver, save_contact, unsubscribe_token
from alliance.web.messaging.tasks import queue_invitation

from .web_fixtures import GAD7_ANSWERS, World, logged_in


def consent(client: Client, email: str = "client@example.org", mobile: str = "") -> Contact:
    data = {
        "email": email,
        "mobile": mobile,
        "email_consent": bool(email),
        "sms_consent": bool(mobile),
        "consent_how": "verbal",
        "consent_note": "",
        "first_name": "",
    }
    return save_contact(client.pk, data, client.counselor_id)


def latest(client: Client) -> Session:
    episode = client.current_episode()
    assert episode is not None
    session: Session = episode.sessions.order_by("-number").first()
    return session


def invite(world: World, client: Client) -> Message:
    """Queue an email invitation for the client's latest session and run the worker on it."""
    contact = Contact.objects.filter(client=client).first() or consent(client)
    link, token = create_link(latest(client), world.counselor)
    message = queue_invitation(link, token, contact, "email", world.counselor)
    deliver(message.pk)
    message.refresh_from_db()
    return message


def refused(world: World, client: Client) -> Message:
    """An email invitation the mail server refused, first and at every retry (failed)."""
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=1
    ):
        message = invite(world, client)  # nothing listens on port 1
        for _ in RETRY_MINUTES:
            Message.objects.filter(pk=message.pk).update(send_after=timezone.now())
            deliver(message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    return message


def state_of(client: Client) -> State:
    episode = client.current_episode()
    assert episode is not None
    return followups([episode.pk])[episode.pk].state


def row_of(html: str, name: str) -> str:
    """The table row (``<tr>…</tr>``) that names the client."""
    rows = [r for r in re.findall(r"<tr.*?</tr>", html, re.S) if name in r]
    assert len(rows) == 1, f"{len(rows)} rows for {name}"
    return rows[0]


def invitation_cells(html: str, username: str) -> list[str]:
    """The team page's invitation numbers for one counselor (its own table)."""
    table = html.split("Invitations answered")[1].split("Transcript skill metrics")[0]
    return re.findall(r"<td>(.*?)</td>", row_of(table, username))


# --- states --------------------------------------------------------------------------------


def test_a_session_today_with_nothing_sent_is_due(world: World) -> None:
    assert latest(world.own).date == timezone.localdate()
    assert state_of(world.own) is State.DUE


def test_a_past_session_with_nothing_sent_is_overdue(world: World) -> None:
    Session.objects.filter(pk=latest(world.own).pk).update(
        date=timezone.localdate() - timedelta(days=2)
    )
    assert state_of(world.own) is State.OVERDUE


def test_a_held_session_without_answers_is_overdue_the_same_day(world: World) -> None:
    Session.objects.filter(pk=latest(world.own).pk).update(status="attended")
    assert state_of(world.own) is State.OVERDUE


def test_a_sent_invitation_is_sent_and_unanswered_until_answered(world: World) -> None:
    message = invite(world, world.own)
    assert message.status == MessageStatus.SENT and len(mail.outbox) == 1
    waiting = Message.objects.exclude(pk=message.pk).get()  # its reminder, due in two days
    assert waiting.status == MessageStatus.QUEUED and waiting.send_after > timezone.now()
    assert state_of(world.own) is State.SENT
    record_administration(latest(world.own), registry().get("gad7"), GAD7_ANSWERS, "link")
    assert state_of(world.own) is State.ANSWERED


def test_a_sent_invitation_whose_link_expired_is_overdue(world: World) -> None:
    invite(world, world.own)
    FeedbackLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert state_of(world.own) is State.OVERDUE


@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=1)
def test_a_message_the_mail_server_refused_is_failed_with_its_error_kind(world: World) -> None:
    message = invite(world, world.own)  # nothing listens on port 1
    episode = world.own.current_episode()
    assert episode is not None
    for _ in RETRY_MINUTES:  # refused, so retried later: on its way, with the error so far
        assert message.status == MessageStatus.QUEUED and message.error != ""
        assert followups([episode.pk])[episode.pk].state is State.QUEUED
        Message.objects.filter(pk=message.pk).update(send_after=timezone.now())
        deliver(message.pk)
        message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    found = followups([episode.pk])[episode.pk]
    assert found.state is State.FAILED and found.error == message.error != ""


def test_an_unsubscribed_client_shows_unsubscribed_whatever_was_sent(world: World) -> None:
    invite(world, world.own)
    contact = Contact.objects.get(client=world.own)
    url = reverse("messaging:unsubscribe", args=[unsubscribe_token(contact)])
    assert logged_in(world.counselor).post(url).status_code == 200
    assert state_of(world.own) is State.UNSUBSCRIBED


def test_a_link_handed_over_by_hand_is_given_and_unanswered(world: World) -> None:
    create_link(latest(world.own), world.counselor)
    assert state_of(world.own) is State.LINK


def test_a_queued_message_is_being_sent_and_needs_no_action(world: World) -> None:
    link, token = create_link(latest(world.own), world.counselor)
    queue_invitation(link, token, consent(world.own), "email", world.counselor)
    episode = world.own.current_episode()
    assert episode is not None
    found = followups([episode.pk])[episode.pk]
    assert found.state is State.QUEUED and not found.needs_action
    assert found.message_status == MessageStatus.QUEUED.label


def test_a_status_the_worklist_does_not_know_still_shows_by_its_value(world: World) -> None:
    message = invite(world, world.own)
    Message.objects.filter(pk=message.pk).update(status="unknown")
    episode = world.own.current_episode()
    assert episode is not None
    found = followups([episode.pk])[episode.pk]
    assert found.state is State.CHECK and found.needs_action and found.message_status


def test_the_latest_session_up_to_today_counts_not_a_cancelled_or_future_one(
    world: World,
) -> None:
    episode = world.own.current_episode()
    assert episode is not None
    record_administration(latest(world.own), registry().get("gad7"), GAD7_ANSWERS, "staff")
    next_session(episode, timezone.localdate(), status="cancelled")
    next_session(episode, timezone.localdate() + timedelta(days=7))
    assert state_of(world.own) is State.ANSWERED


# --- pages ---------------------------------------------------------------------------------


def test_caseload_shows_each_clients_measures_state(world: World) -> None:
    invite(world, world.own)
    Session.objects.filter(pk=latest(world.teammate).pk).update(
        date=timezone.localdate() - timedelta(days=3)
    )
    html = logged_in(world.supervisor).get(reverse("dashboard:caseload")).content.decode()
    assert "Sent, unanswered" in row_of(html, "Alex Own")
    assert "by email" in row_of(html, "Alex Own")
    assert "Overdue" in row_of(html, "Bea Teammate")


def test_past_clients_have_nothing_due_on_the_caseload_nor_due_today(world: World) -> None:
    Session.objects.filter(pk=latest(world.own).pk).update(
        date=timezone.localdate() - timedelta(days=3)
    )
    Client.objects.filter(pk=world.own.pk).update(active=False)
    http = logged_in(world.counselor)
    row = row_of(http.get(reverse("dashboard:caseload")).content.decode(), "Alex Own")
    assert "Nothing due" in row and "Overdue" not in row
    assert "Alex Own" not in http.get(reverse("dashboard:worklist")).content.decode()


def test_due_today_lists_states_and_the_send_buttons_the_consent_allows(world: World) -> None:
    consent(world.own, email="", mobile="+447700900123")
    html = logged_in(world.counselor).get(reverse("dashboard:worklist")).content.decode()
    row = row_of(html, "Alex Own")
    assert "Due today" in row
    session = latest(world.own)
    assert reverse("messaging:send", args=[session.pk, "sms"]) in row
    assert reverse("messaging:send", args=[session.pk, "email"]) not in row
    assert reverse("feedback:create_link", args=[session.pk]) in row
    assert AuditEvent.objects.filter(action="worklist_view", user=world.counselor).exists()


def test_a_failed_message_offers_a_resend_that_sends_again(world: World) -> None:
    refused(world, world.own)
    http = logged_in(world.counselor)
    row = row_of(http.get(reverse("dashboard:worklist")).content.decode(), "Alex Own")
    assert "Sending failed" in row and "Resend by email" in row
    send = reverse("messaging:send", args=[latest(world.own).pk, "email"])
    assert http.post(send).status_code == 200
    deliver(Message.objects.filter(status=MessageStatus.QUEUED).get().pk)
    assert state_of(world.own) is State.SENT


def test_answered_and_unsubscribed_clients(world: World) -> None:
    record_administration(latest(world.own), registry().get("gad7"), GAD7_ANSWERS, "staff")
    consent(world.teammate)
    Contact.objects.filter(client=world.teammate).update(unsubscribed_at=timezone.now())
    html = logged_in(world.supervisor).get(reverse("dashboard:worklist")).content.decode()
    assert "Alex Own" not in html  # answered: nothing to do
    row = row_of(html, "Bea Teammate")
    assert "Unsubscribed" in row and "Send by" not in row


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("counselor", {"Alex Own"}, {"Bea Teammate", "Cal South", "Dan Foreign"}),
        ("supervisor", {"Alex Own", "Bea Teammate"}, {"Cal South", "Dan Foreign"}),
        ("admin", {"Alex Own", "Bea Teammate", "Cal South"}, {"Dan Foreign"}),
        ("foreign_counselor", {"Dan Foreign"}, {"Alex Own", "Bea Teammate", "Cal South"}),
    ],
)
def test_due_today_shows_whom_the_role_may_see(
    world: World, role: str, shown: set[str], hidden: set[str]
) -> None:
    html = logged_in(world.user(role)).get(reverse("dashboard:worklist")).content.decode()
    assert all(name in html for name in shown)
    assert not any(name in html for name in hidden)


def test_a_clinic_admin_sees_the_list_read_only(world: World) -> None:
    html = logged_in(world.admin).get(reverse("dashboard:worklist")).content.decode()
    assert "Read only" in row_of(html, "Alex Own")
    assert "/send/" not in html and "/link/" not in html


def test_supervisors_see_their_teams_counselors_under_their_names(world: World) -> None:
    html = logged_in(world.supervisor).get(reverse("dashboard:worklist")).content.decode()
    assert "<h2" in html and world.counselor.username in html
    assert world.teammate_counselor.username in html
    assert world.south_counselor.username not in html


# --- completion per counselor --------------------------------------------------------------


def test_team_page_counts_invitations_answers_failures_and_unsubscribes(world: World) -> None:
    invite(world, world.own)
    record_administration(latest(world.own), registry().get("gad7"), GAD7_ANSWERS, "link")
    FeedbackLink.objects.update(used_at=timezone.now())  # the client answered by the link
    episode = world.own.current_episode()
    assert episode is not None
    next_session(episode)
    invite(world, world.own)  # sent, not answered
    refused(world, world.teammate)
    Contact.objects.filter(client=world.teammate).update(unsubscribed_at=timezone.now())
    html = logged_in(world.supervisor).get(reverse("dashboard:team")).content.decode()
    assert invitation_cells(html, "couns_a") == ["2", "1", "50% (1 of 2)", "0", "0"]
    assert invitation_cells(html, "couns_b") == ["0", "0", "–", "1", "1"]


def test_team_completion_period_leaves_out_older_invitations(world: World) -> None:
    invite(world, world.own)
    Message.objects.update(created_at=timezone.now() - timedelta(days=40))
    http = logged_in(world.supervisor)
    html = http.get(reverse("dashboard:team") + "?days=30").content.decode()
    assert invitation_cells(html, "couns_a")[0] == "0"
    html = http.get(reverse("dashboard:team") + "?days=90").content.decode()
    assert invitation_cells(html, "couns_a")[0] == "1"


def test_team_page_is_still_supervisors_and_admins_only(world: World) -> None:
    assert logged_in(world.counselor).get(reverse("dashboard:team")).status_code == 403
