"""Client feedback links: the whole lifecycle against the real database, and every bad input."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test import override_settings
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
    assert again.status_code == 410
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


def test_answers_are_kept_between_pages_in_a_draft(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    phone.post(reverse("feedback:step", args=[token, 1]), PHQ9_RISK)
    link = FeedbackLink.objects.get(token_hash=hash_token(token))
    assert link.draft == {"phq9": PHQ9_RISK}
    back = phone.get(reverse("feedback:step", args=[token, 1]))
    assert back.content.count(b"checked") == 9
    resumed = phone.get(reverse("feedback:start", args=[token]))
    assert resumed.url.endswith("/2/")


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
    response = HttpClient().post(reverse("feedback:step", args=[token, 1]), answers)
    assert response.status_code == 400
    assert message in response.content
    assert FeedbackLink.objects.get().draft == {}


def test_last_page_cannot_skip_earlier_ones(world: World) -> None:
    _, token = new_link(world)
    response = HttpClient().post(reverse("feedback:step", args=[token, 3]), ALLIANCE_ANSWERS)
    assert response.status_code == 400 and b"Please answer PHQ-9, GAD-7 first" in response.content
    assert not Administration.objects.filter(status="completed").exists()


@override_settings(ALLIANCE_LINK_MISSES_PER_WINDOW=3)
def test_token_guessing_is_rate_limited_per_ip(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    for _ in range(10):  # real links never count against the address
        assert phone.get(reverse("feedback:step", args=[token, 1])).status_code == 200
    codes = [phone.get(reverse("feedback:start", args=["y" * 43])).status_code for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]
    assert phone.get(reverse("feedback:step", args=[token, 1])).status_code == 429
    assert AuditEvent.objects.filter(outcome="rate_limited").count() == 3


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


@pytest.mark.django_db(transaction=True)
def test_concurrent_final_submits_record_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race is exercised on PostgreSQL")
    session, token = new_link(world)
    for step, answers in enumerate(STEPS[:2], start=1):
        HttpClient().post(reverse("feedback:step", args=[token, step]), answers)
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def submit() -> None:
        try:
            barrier.wait(timeout=30)
            response = HttpClient().post(reverse("feedback:step", args=[token, 3]), STEPS[2])
            codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [302, 410, 410, 410]
    done = Administration.objects.filter(session=session, status="completed")
    assert done.count() == 3
    assert Alert.objects.filter(client=world.own, kind="risk", status="open").count() == 1


def test_oversized_answer_posts_get_400_and_save_nothing(world: World) -> None:
    _, token = new_link(world)
    phone = HttpClient()
    big = phone.post(reverse("feedback:step", args=[token, 1]), {"phq9_1": "1" * 200_000})
    assert big.status_code == 400
    many = {f"x{i}": "1" for i in range(500)}
    assert phone.post(reverse("feedback:step", args=[token, 1]), many).status_code == 400
    assert FeedbackLink.objects.get().draft == {}
