"""Feedback links and sessions under real concurrency: threads, each with its own database
connection and real transactions, on SQLite and on PostgreSQL (``DATABASE_URL``)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import TypeVar

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse

from alliance.web.alerts.models import Alert
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Administration, Session
from alliance.web.feedback.models import FeedbackLink

from .web_fixtures import (
    ALLIANCE_ANSWERS,
    GAD7_ANSWERS,
    PHQ9_RISK,
    World,
    logged_in,
    token_from,
)

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")

CALM_PHQ9 = {f"phq9_{i}": 0 for i in range(1, 10)}


def together(count: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(0..count-1)`` in ``count`` threads released at once; each thread has its
    own database connection (closed at the end) and the results come back in order."""
    barrier = threading.Barrier(count)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = action(index)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, errors
    return [results[i] for i in range(count)]


def staff_browsers(world: World, count: int) -> list[HttpClient]:
    """Logged-in counselor browsers; server errors come back as 500 pages, not exceptions."""
    return [logged_in(world.counselor, raise_request_exception=False) for _ in range(count)]


def test_concurrent_new_sessions_all_succeed_with_distinct_numbers(world: World) -> None:
    browsers = staff_browsers(world, 8)
    url = reverse("clinic:session_new", args=[world.own.pk])

    def new_session(i: int) -> int:
        response = browsers[i].post(url, {"date": "2026-12-01", "status": "scheduled"})
        return response.status_code

    codes = together(8, new_session)
    assert codes == [302] * 8
    numbers = Session.objects.filter(episode__client=world.own).values_list("number", flat=True)
    assert sorted(numbers) == list(range(1, 10))


def test_concurrent_link_creation_leaves_one_pending_request_per_measure(world: World) -> None:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    browsers = staff_browsers(world, 6)
    url = reverse("feedback:create_link", args=[session.pk])

    def create(i: int) -> str:
        response = browsers[i].post(url)
        assert response.status_code == 200, response.status_code
        return token_from(response.content.decode())

    tokens = together(6, create)
    assert len(set(tokens)) == 6 and FeedbackLink.objects.count() == 6
    waiting = Counter(
        Administration.objects.filter(session=session).values_list("instrument", flat=True)
    )
    assert waiting == {"phq9": 1, "gad7": 1, "alliance_check": 1}
    assert set(Administration.objects.values_list("status", flat=True)) == {"pending"}


@override_settings(ALLIANCE_LINK_MISSES_PER_WINDOW=3)
def test_a_burst_of_unknown_tokens_is_audited_a_bounded_number_of_times(world: World) -> None:
    phones = [HttpClient() for _ in range(12)]

    def guess(i: int) -> int:
        return phones[i].get(reverse("feedback:start", args=[f"{i:02d}" + "z" * 41])).status_code

    codes = together(12, guess)
    assert sorted(codes) == [404] * 3 + [429] * 9
    outcomes = Counter(
        AuditEvent.objects.filter(action="link_open").values_list("outcome", flat=True)
    )
    assert outcomes == {"forged": 3, "rate_limited": 1}


def test_two_browsers_submitting_at_once_store_exactly_one_browsers_answers(
    world: World,
) -> None:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    created = logged_in(world.counselor).post(reverse("feedback:create_link", args=[session.pk]))
    token = token_from(created.content.decode())
    answers = (
        (PHQ9_RISK, GAD7_ANSWERS, ALLIANCE_ANSWERS),
        (CALM_PHQ9, {f"gad7_{i}": 3 for i in range(1, 8)}, {**ALLIANCE_ANSWERS, "ac_heard": 1}),
    )
    phones = [HttpClient(), HttpClient()]
    for phone, pages in zip(phones, answers, strict=True):
        for step, page in enumerate(pages[:2], start=1):
            assert phone.post(reverse("feedback:step", args=[token, step]), page).status_code == 302

    def submit(i: int) -> int:
        response = phones[i].post(reverse("feedback:step", args=[token, 3]), answers[i][2])
        return response.status_code

    codes = together(2, submit)
    assert sorted(codes) == [302, 410]
    winner = answers[codes.index(302)]
    stored = {
        a.instrument: a.answers
        for a in Administration.objects.filter(session=session, status="completed")
    }
    assert stored == {"phq9": winner[0], "gad7": winner[1], "alliance_check": winner[2]}


def test_concurrent_final_submits_from_one_browser_record_once(world: World) -> None:
    session = world.own.current_episode().sessions.get()  # type: ignore[union-attr]
    created = logged_in(world.counselor).post(reverse("feedback:create_link", args=[session.pk]))
    token = token_from(created.content.decode())
    phone = HttpClient()
    for step, answers in enumerate((PHQ9_RISK, GAD7_ANSWERS), start=1):
        phone.post(reverse("feedback:step", args=[token, step]), answers)
    taps = [HttpClient() for _ in range(4)]  # four taps of one browser: one cookie jar, copied
    for tap in taps:
        tap.cookies = SimpleCookie({name: m.value for name, m in phone.cookies.items()})

    def submit(i: int) -> tuple[int, bytes]:
        response = taps[i].post(reverse("feedback:step", args=[token, 3]), ALLIANCE_ANSWERS)
        return response.status_code, response.content

    results = together(4, submit)
    assert sorted(code for code, _ in results) == [302, 410, 410, 410]
    assert all(b"already received" in page for code, page in results if code == 410)
    assert Administration.objects.filter(session=session, status="completed").count() == 3
    assert Alert.objects.filter(client=world.own, kind="risk", status="open").count() == 1
