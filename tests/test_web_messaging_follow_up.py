"""A follow-up some weeks after discharge (issue 15): the clinic sets the weeks (0: none), the
scheduler sends the outcome measures once at that time, and the answers stay apart from the
end-of-treatment scores the outcomes page and the episode summary report."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.web.clinic.models import Client, Episode, Session
from alliance.web.clinic.services import (
    close_episode,
    next_session,
    record_administration,
    registry,
)
from alliance.web.dashboard.summaries import caseload_entries, caseload_rows
from alliance.web.messaging.models import ClinicMessaging, Message
from alliance.web.messaging.services import unsubscribe
from alliance.web.messaging.tasks import tick

from .test_web_messaging import ADDRESS, Inbox, run_worker, smtp
from .test_web_messaging_schedule import email_only
from .test_web_outcomes import phq9_answers
from .web_fixtures import World, logged_in

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]

WEEKS = 4


def discharge_day(days_later: int = 0) -> dt.date:
    """A discharge whose follow-up (``WEEKS`` on, at 10:00) fell within the last 24 hours,
    whatever the time of day the test runs; ``days_later`` moves the discharge (and the
    follow-up) that many days later."""
    due_day = timezone.localdate(timezone.now() - dt.timedelta(hours=10))
    return due_day - dt.timedelta(weeks=WEEKS) + dt.timedelta(days=days_later)


def treated(client: Client, course: tuple[int, ...], closed: dt.date) -> Episode:
    """The client's episode with weekly PHQ-9 scores of ``course``, discharged on ``closed``."""
    episode = client.current_episode()
    assert episode is not None
    phq9 = registry().get("phq9")
    start = closed - dt.timedelta(weeks=len(course))
    for week, total in enumerate(course):
        session = next_session(episode, start + dt.timedelta(weeks=week), "attended")
        record_administration(session, phq9, phq9_answers(total), "staff")
    close_episode(episode, "planned", on=closed)
    return episode


def follow_ups() -> list[Message]:
    """The follow-up invitations (its one reminder, two days on, is the schedule's own)."""
    rows = Message.objects.filter(occasion="follow_up", kind="invitation")
    return list(rows.order_by("pk"))


def test_no_follow_up_unless_the_clinic_sets_one(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    treated(world.own, (16, 7), discharge_day())
    tick()
    assert follow_ups() == [] and not Session.objects.filter(follow_up=True).exists()


def test_the_outcome_measures_go_once_the_set_weeks_after_discharge(
    world: World, smtp: Inbox
) -> None:
    ClinicMessaging.objects.create(clinic=world.clinic, follow_up_weeks=WEEKS)
    email_only(world.own)
    episode = treated(world.own, (16, 7), discharge_day(days_later=2))
    tick()
    assert follow_ups() == []  # not yet: the follow-up is one to two days away
    Episode.objects.filter(pk=episode.pk).update(closed_on=discharge_day())
    tick()
    tick()
    run_worker()
    [message] = follow_ups()
    assert message.status == "sent" and message.session is not None
    last = Session.objects.filter(episode=episode, follow_up=False).latest("number")
    assert message.session.follow_up and message.session.number == last.number + 1
    assert sorted(message.link.instruments) == ["gad7", "phq9"]  # outcomes: no alliance check
    invitations = [m for m in smtp.messages if m[0] == [ADDRESS]]
    assert len(invitations) == 1
    assert Session.objects.filter(episode=episode, follow_up=True).count() == 1


def test_a_follow_up_missed_by_more_than_a_day_is_not_sent_late(world: World, smtp: Inbox) -> None:
    ClinicMessaging.objects.create(clinic=world.clinic, follow_up_weeks=WEEKS)
    email_only(world.own)
    treated(world.own, (16, 7), discharge_day(days_later=-1))
    tick()
    assert follow_ups() == []


def test_an_unsubscribed_client_gets_no_follow_up(world: World, smtp: Inbox) -> None:
    ClinicMessaging.objects.create(clinic=world.clinic, follow_up_weeks=WEEKS)
    email_only(world.own)
    treated(world.own, (16, 7), discharge_day())
    unsubscribe(world.own.contact)
    tick()
    run_worker()
    assert follow_ups() == [] and smtp.messages == []


def test_follow_up_answers_leave_the_end_of_treatment_outcome_alone(
    world: World, smtp: Inbox
) -> None:
    ClinicMessaging.objects.create(clinic=world.clinic, follow_up_weeks=WEEKS)
    email_only(world.own)
    episode = treated(world.own, (16, 12, 7), discharge_day())
    tick()
    [message] = follow_ups()
    record_administration(message.link.session, registry().get("phq9"), phq9_answers(20), "link")
    supervisor = logged_in(world.supervisor)
    page = supervisor.get(reverse("outcomes:page")).content.decode()
    assert re.search(r"Recovery</th><td>1 of 1</td>", page)  # 16 -> 7, not 16 -> 20
    assert re.search(r"Reliable improvement</th><td>1 of 1</td>", page)
    summary = supervisor.get(reverse("outcomes:summary", args=[episode.pk])).content.decode()
    assert re.search(r"went from 16 \(moderately severe\) at session \d+ to 7 \(mild\)", summary)
    assert "<td>16</td><td>12</td><td>7</td>" in summary  # the treatment sessions only
    assert re.search(r"Follow-up after discharge \([^)]*\): 20 <span", summary)


def test_an_unanswered_follow_up_leaves_the_caseload_as_it_was(world: World, smtp: Inbox) -> None:
    email_only(world.own)
    treated(world.own, (16, 7), discharge_day())

    def own_row() -> tuple[int, int]:
        entries = caseload_entries(Client.objects.filter(pk=world.own.pk))
        [row] = caseload_rows(entries)
        return row.overdue, row.sessions

    before = own_row()
    ClinicMessaging.objects.create(clinic=world.clinic, follow_up_weeks=WEEKS)
    tick()
    assert len(follow_ups()) == 1
    assert own_row() == before  # the follow-up is neither a session nor overdue
    page = logged_in(world.counselor).get(reverse("dashboard:client", args=[world.own.pk]))
    assert re.search(r"<td>\d+ \(follow-up\)</td>", page.content.decode())  # its message


@pytest.mark.parametrize(("weeks", "saved"), [("0", True), ("52", True), ("53", False)])
def test_the_clinic_admin_sets_the_weeks_from_0_to_52(
    world: World, weeks: str, saved: bool
) -> None:
    data = {"scheduled": "on", "hours_before": "24", "reminder_hours": "48"}
    response = logged_in(world.admin).post(
        reverse("manage:messaging"), data | {"follow_up_weeks": weeks}
    )
    assert (response.status_code == 302) is saved
    prefs = ClinicMessaging.objects.filter(clinic=world.clinic).first()
    assert (prefs.follow_up_weeks if prefs else None) == (int(weeks) if saved else None)


def test_the_weeks_may_not_be_negative(world: World) -> None:
    data = {"scheduled": "on", "hours_before": "24", "reminder_hours": "48"}
    response = logged_in(world.admin).post(
        reverse("manage:messaging"), data | {"follow_up_weeks": "-1"}
    )
    assert response.status_code == 200 and not ClinicMessaging.objects.exists()
