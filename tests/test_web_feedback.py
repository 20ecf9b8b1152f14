"""Client feedback links: the whole lifecycle against the real database, and every bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session as DjangoSession
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client as HttpClient
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliance.web.alerts.models import Alert
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Administration, Session
from alliance.web.feedback.models import FeedbackLink, hash_token

from .web_fixtures import (
    ALLIANCE_ANSWERS,
    GAD7_ANSWERS,
    PHQ9_RISK,
    World,
    logged_in,
    token_from,
)

STEPS = (PHQ9_RISK, GAD7_ANSWERS, ALLIANCE_ANSWERS)
CALM_PHQ9 = {f"phq9_{i}": 0 for i in range(1, 10)}
HIGH_GAD7 = {f"gad7_{i}": 3 for i in range(1, 8)}


def stored_answers(session: Session) -> dict[str, dict[str, int]]:
    done = Administration.objects.filter(session=session, status="completed")
    return {a.instrument: a.answers for a in done}


def new_link(world: World) -> tuple[Session, str]:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    staff = logged_in(world.counselor)
    response = staff.post(reverse("feedback:create_link", args=[session.pk]))
    assert response.status_code == 200
    assert b"data:image/svg+xml" in response.content  # the QR code
    return session, token_from(response.content.decode())


def answer_all(http: HttpClient, token: str) -> None:
    for step, answers in enumerate(STEPS, start=1):
        response = http.post(reverse("feedback:step", args=[token, step]), answers)
        assert response.status_code == 302, response.content[:400]


def test_client_completes_three_pages_once(world: World) -> None:
    session, token = new_link(world)
    phone = HttpClient()
    first = phone.get(reverse("feedback:start", args=[token]))
    assert first.status_code == 302 and first.url.endswith("/1/")
    page = phone.get(first.url)
    assert b"PHQ-9" in page.content and b"Questionnaire 1 of 3" in page.content
    answer_all(phone, token)
    done = Administration.objects.filter(session=session, status="completed")
    assert sorted(done.values_list("instrument", flat=True)) == ["alliance_check", "gad7", "phq9"]
    phq9 = done.get(instrument="phq9")
    assert phq9.total == 18 and phq9.score["severity"] == "moderately_severe"
    assert "risk:item9" in phq9.score["flags"]
    assert Alert.objects.filter(client=world.own, kind="risk", status="open").exists()

    again = phone.post(reverse("feedback:step", args=[token, 3]), ALLIANCE_ANSWERS)
    assert again.status_code == 410 and b"already received" in again.content
    assert Administration.objects.filter(session=session).count() == 3
    assert phone.get(reverse("feedback:start", args=[token])).status_code == 410
    actions = list(
        AuditEvent.objects.filter(object_type="feedbacklink")
        .order_by("id")
        .values_list("action", "outcome")
    )
    assert actions[:5] == [
        ("link_create", "ok"),
        ("link_open", "ok"),
        ("link_answer", "ok"),
        ("link_answer", "ok"),
        ("link_submit", "ok"),
    ]
    assert actions[5:] == [("link_open", "used"), ("link_open", "used")]  # re-submit, reopen


def test_the_final_submit_writes_the_browsers_session_inside_its_own_transaction(
    world: World,
) -> None:
    """The answers, the audit event and this browser's session (its draft forgotten) are one
    transaction: a submission commits once, and its draft never outlives it."""
    _, token = new_link(world)
    phone = HttpClient()
    for step, answers in enumerate(STEPS[:-1], start=1):
        phone.post(reverse("feedback:step", args=[token, step]), answers)
    with CaptureQueriesContext(connection) as queries:
        response = phone.post(reverse("feedback:step", args=[token, len(STEPS)]), STEPS[-1])
    assert response.status_code == 302 and response.url == reverse("feedback:thanks")
    sql = [q["sql"] for q in queries]
    session_writes = [
        i for i, q in enumerate(sql) if q.startswith("UPDATE") and "django_session" in q
    ]
    audit = [i for i, q in enumerate(sql) if q.startswith("INSERT") and "audit_auditevent" in q]
    recorded = [
        i for i, q in enumerate(sql) if q.startswith("UPDATE") and "clinic_administration" in q
    ]
    assert len(session_writes) == 1 and audit and recorded
    # the savepoint (in tests; a transaction when served) opened last before the answers
    opened = [q for q in sql[: recorded[0]] if q.startswith("SAVEPOINT")][-1]
    released = sql.index(f"RELEASE {opened}")
    assert recorded[0] < audit[0] < session_writes[0] < released
    assert "feedback_drafts" not in phone.session


def test_answers_are_kept_between_pages_in_this_browsers_draft(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    phone.post(reverse("feedback:step", args=[token, 1]), PHQ9_RISK)
    link = FeedbackLink.objects.get(token_hash=hash_token(token))
    assert phone.session["feedback_drafts"] == {str(link.pk): {"phq9": PHQ9_RISK}}
    back = phone.get(reverse("feedback:step", args=[token, 1]))
    assert back.content.count(b"checked") == 9
    resumed = phone.get(reverse("feedback:start", args=[token]))
    assert resumed.url.endswith("/2/")


def test_an_abandoned_draft_is_purged_once_its_browser_session_expires(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    phone.post(reverse("feedback:step", args=[token, 1]), PHQ9_RISK)
    key = phone.cookies[settings.SESSION_COOKIE_NAME].value
    DjangoSession.objects.filter(session_key=key).update(expire_date=timezone.now())
    new_link(world)  # any link made later sweeps expired sessions
    assert not DjangoSession.objects.filter(session_key=key).exists()


def test_a_second_browser_on_the_same_link_starts_fresh(world: World) -> None:
    _, token = new_link(world)
    first, second = HttpClient(), HttpClient()
    first.post(reverse("feedback:step", args=[token, 1]), PHQ9_RISK)
    assert second.get(reverse("feedback:start", args=[token])).url.endswith("/1/")
    page = second.get(reverse("feedback:step", args=[token, 1]))
    assert page.status_code == 200 and b"checked" not in page.content  # no risk answer leaks
    assert first.get(reverse("feedback:step", args=[token, 1])).content.count(b"checked") == 9


def test_what_is_stored_is_exactly_what_the_submitting_browser_answered(world: World) -> None:
    session, token = new_link(world)
    first, second = HttpClient(), HttpClient()
    for step, answers in enumerate((PHQ9_RISK, GAD7_ANSWERS), start=1):
        first.post(reverse("feedback:step", args=[token, step]), answers)
    for step, answers in enumerate((CALM_PHQ9, HIGH_GAD7), start=1):
        second.post(reverse("feedback:step", args=[token, step]), answers)
    sent = first.post(reverse("feedback:step", args=[token, 3]), ALLIANCE_ANSWERS)
    assert sent.status_code == 302 and sent.url == reverse("feedback:thanks")
    assert stored_answers(session) == {
        "phq9": PHQ9_RISK,
        "gad7": GAD7_ANSWERS,
        "alliance_check": ALLIANCE_ANSWERS,
    }
    late = second.post(reverse("feedback:step", args=[token, 3]), ALLIANCE_ANSWERS)
    assert late.status_code == 410 and b"not saved" in late.content
    assert b"already received" not in late.content
    assert stored_answers(session)["phq9"] == PHQ9_RISK


def test_a_browser_is_never_told_sent_for_answers_it_did_not_give(world: World) -> None:
    session, token = new_link(world)
    first, second = HttpClient(), HttpClient()
    for step, answers in enumerate((PHQ9_RISK, GAD7_ANSWERS), start=1):
        first.post(reverse("feedback:step", args=[token, step]), answers)
    for step, answers in enumerate((CALM_PHQ9, HIGH_GAD7, ALLIANCE_ANSWERS), start=1):
        assert second.post(reverse("feedback:step", args=[token, step]), answers).status_code == 302
    assert stored_answers(session)["phq9"] == CALM_PHQ9
    late = first.post(reverse("feedback:step", args=[token, 3]), ALLIANCE_ANSWERS)
    assert late.status_code == 410
    assert b"not saved" in late.content and b"already received" not in late.content
    for browser in (first, HttpClient()):  # the first again, and one that never answered
        reopened = browser.get(reverse("feedback:step", args=[token, 1]))
        assert reopened.status_code == 410 and b"Already answered" in reopened.content
        assert b"already received" not in reopened.content.lower()
    assert not first.session.get("feedback_drafts")
    again = second.get(reverse("feedback:start", args=[token]))
    assert again.status_code == 410 and b"already received" in again.content
    assert stored_answers(session)["phq9"] == CALM_PHQ9


def test_only_the_hash_of_the_token_is_stored(world: World) -> None:
    _, token = new_link(world)
    link = FeedbackLink.objects.get()
    assert link.token_hash == hash_token(token) != token
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM feedback_feedbacklink")
        row = cursor.fetchone()
    assert token not in repr(row)
    assert len(token) >= 40


def test_forged_expired_and_wrong_step_links_get_clear_pages(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    forged = phone.get(reverse("feedback:start", args=["x" * 43]))
    assert forged.status_code == 404 and b"not valid" in forged.content
    assert phone.get(reverse("feedback:step", args=[token, 9])).status_code == 404
    FeedbackLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = phone.get(reverse("feedback:start", args=[token]))
    assert expired.status_code == 410 and b"expired" in expired.content
    posted = phone.post(reverse("feedback:step", args=[token, 1]), PHQ9_RISK)
    assert posted.status_code == 410
    assert not Administration.objects.filter(status="completed").exists()
    outcomes = set(AuditEvent.objects.filter(action="link_open").values_list("outcome", flat=True))
    assert {"forged", "expired"} <= outcomes


@pytest.mark.parametrize(
    "answers, message",
    [
        ({**PHQ9_RISK, "phq9_1": "7"}, b"not one of"),
        ({**PHQ9_RISK, "phq9_1": "abc"}, b"not a number"),
        ({k: v for k, v in PHQ9_RISK.items() if k != "phq9_4"}, b"Please answer every question"),
        ({}, b"Please answer every question"),
    ],
)
def test_invalid_answers_are_refused_and_nothing_is_saved(
    world: World, answers: dict[str, object], message: bytes
) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    response = phone.post(reverse("feedback:step", args=[token, 1]), answers)
    assert response.status_code == 400
    assert message in response.content
    assert not phone.session.get("feedback_drafts")


def test_last_page_cannot_skip_earlier_ones(world: World) -> None:
    _, token = new_link(world)
    response = HttpClient().post(reverse("feedback:step", args=[token, 3]), ALLIANCE_ANSWERS)
    assert response.status_code == 400 and b"Please answer PHQ-9, GAD-7 first" in response.content
    assert not Administration.objects.filter(status="completed").exists()


@override_settings(ALLIANCE_LINK_MISSES_PER_WINDOW=3)
def test_token_guessing_is_rate_limited_per_ip_but_real_links_still_open(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    for _ in range(10):  # real links never count against the address
        assert phone.get(reverse("feedback:step", args=[token, 1])).status_code == 200
    codes = [phone.get(reverse("feedback:start", args=["y" * 43])).status_code for _ in range(25)]
    assert codes == [404] * 3 + [429] * 22
    # a waiting room behind the same clinic address keeps answering its real links
    assert phone.get(reverse("feedback:step", args=[token, 1])).status_code == 200
    elsewhere = HttpClient(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.get(reverse("feedback:start", args=["y" * 43])).status_code == 404
    misses = AuditEvent.objects.filter(action="link_open").exclude(outcome="ok")
    # the first misses of each address, then one summary row when its limit trips
    assert sorted(misses.values_list("ip", "outcome")) == [
        ("127.0.0.1", "forged"),
        ("127.0.0.1", "forged"),
        ("127.0.0.1", "forged"),
        ("127.0.0.1", "rate_limited"),
        ("198.51.100.7", "forged"),
    ]


@override_settings(ALLIANCE_LINK_MISSES_PER_WINDOW=3)
def test_reopening_a_dead_link_is_audited_a_bounded_number_of_times(world: World) -> None:
    _, token = new_link(world)
    FeedbackLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    phone = HttpClient()
    codes = [phone.get(reverse("feedback:start", args=[token])).status_code for _ in range(12)]
    assert codes == [410] * 12  # never blocked: the page only says the link has expired
    outcomes = AuditEvent.objects.filter(action="link_open").values_list("outcome", flat=True)
    assert sorted(outcomes) == ["audit_limited", "expired", "expired", "expired"]


def test_two_links_for_one_session_never_duplicate_a_measure(world: World) -> None:
    session, first = new_link(world)
    _, second = new_link(world)
    answer_all(HttpClient(), first)
    answer_all(HttpClient(), second)
    assert Administration.objects.filter(session=session).count() == 3


def test_no_link_when_everything_is_done(world: World) -> None:
    session, token = new_link(world)
    answer_all(HttpClient(), token)
    response = logged_in(world.counselor).post(reverse("feedback:create_link", args=[session.pk]))
    assert b"Nothing to ask" in response.content
    assert FeedbackLink.objects.count() == 1


def test_tablet_mode_returns_to_a_locked_screen(world: World) -> None:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    tablet = logged_in(world.counselor)
    started = tablet.post(reverse("feedback:tablet", args=[session.pk]))
    token = started.url.split("/")[2]
    assert tablet.get(reverse("dashboard:caseload")).url == reverse("feedback:locked")
    assert tablet.get(f"/clients/{world.own.pk}/").url == reverse("feedback:locked")
    for step, answers in enumerate(STEPS, start=1):
        response = tablet.post(reverse("feedback:step", args=[token, step]), answers)
    assert response.url == reverse("feedback:locked")
    assert Administration.objects.filter(session=session, channel="tablet").count() == 3
    wrong = tablet.post(reverse("feedback:locked"), {"password": "nope"})
    assert wrong.status_code == 400
    assert tablet.get(reverse("dashboard:caseload")).url == reverse("feedback:locked")
    right = tablet.post(reverse("feedback:locked"), {"password": "correct-Horse-battery-9"})
    assert right.url == reverse("dashboard:client", args=[world.own.pk])
    assert tablet.get(reverse("dashboard:caseload")).status_code == 200


def test_links_create_pending_administrations_that_complete_or_expire(world: World) -> None:
    session, _ = new_link(world)
    pending = Administration.objects.filter(session=session, status="pending")
    assert sorted(pending.values_list("instrument", flat=True)) == [
        "alliance_check",
        "gad7",
        "phq9",
    ]
    staff = logged_in(world.counselor)
    page = staff.get(reverse("dashboard:sessions", args=[world.own.pk])).content.decode()
    assert "PHQ-9 <em>pending</em>" in page
    Administration.objects.update(due_by=timezone.now() - timedelta(seconds=1))
    staff.get(reverse("dashboard:caseload"))
    assert Administration.objects.filter(status="expired").count() == 3
    _, second = new_link(world)
    answer_all(HttpClient(), second)
    assert Administration.objects.filter(session=session).count() == 3
    assert set(Administration.objects.values_list("status", flat=True)) == {"completed"}


def test_oversized_answer_posts_get_400_and_save_nothing(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    big = phone.post(reverse("feedback:step", args=[token, 1]), {"phq9_1": "1" * 200_000})
    assert big.status_code == 400
    many = {f"x{i}": "1" for i in range(500)}
    assert phone.post(reverse("feedback:step", args=[token, 1]), many).status_code == 400
    assert not phone.session.get("feedback_drafts")


def migrate_to(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_upgrade_merges_duplicate_waiting_requests_then_enforces_one(world: World) -> None:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate_to([("clinic", "0003_one_open_episode")])  # a database from before the constraint
    soon, later = timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=7)
    for status, due_by in (("pending", soon), ("expired", later), ("pending", soon)):
        Administration.objects.create(
            session=session, instrument="phq9", status=status, due_by=due_by
        )
    Administration.objects.create(session=session, instrument="gad7", status="expired")
    Administration.objects.create(session=session, instrument="gad7", status="expired")
    Administration.objects.create(
        session=session, instrument="alliance_check", status="completed", answers=ALLIANCE_ANSWERS
    )
    migrate_to(leaves)
    rows = Administration.objects.filter(session=session)
    assert sorted(rows.values_list("instrument", "status")) == [
        ("alliance_check", "completed"),
        ("gad7", "expired"),
        ("phq9", "pending"),
    ]
    assert rows.get(instrument="phq9").due_by == later
    with pytest.raises(IntegrityError), transaction.atomic():
        Administration.objects.create(session=session, instrument="phq9", status="expired")
