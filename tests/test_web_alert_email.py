"""Safety alerts email the counselor and their supervisors, without PHI; other alerts do not."""

from __future__ import annotations

from typing import Any

from django.core import mail

from alliance.web.alerts.models import Alert
from alliance.web.alerts.services import refresh_alerts
from alliance.web.clinic.services import next_session, record_administration, registry

from .web_fixtures import PHQ9_RISK, World


def _complete(world: World, answers: dict[str, int], capture: Any) -> None:
    episode = world.own.current_episode()
    assert episode is not None
    with capture(execute=True):
        record_administration(
            next_session(episode, status="attended"), registry().get("phq9"), answers, "staff"
        )
        refresh_alerts(episode)


def _with_emails(world: World) -> None:
    for user, address in (
        (world.counselor, "couns@example.org"),
        (world.supervisor, "super@example.org"),
    ):
        user.email = address
        user.save(update_fields=["email"])
    world.south_counselor.email = "south@example.org"
    world.south_counselor.save(update_fields=["email"])
    Alert.objects.all().delete()


def test_risk_alert_emails_counselor_and_team_supervisor(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _with_emails(world)
    _complete(world, PHQ9_RISK, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["couns@example.org", "super@example.org"]
    assert "safety alert" in message.subject and "risk:item9" not in message.body
    assert f"/clients/{world.own.pk}/" in message.body
    assert "Alex Own" not in message.body + message.subject  # no PHI leaves by email
    assert "phq9_9" not in message.body


def test_no_email_for_non_safety_alerts(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _with_emails(world)
    calm = {f"phq9_{i}": 3 for i in range(1, 9)} | {"phq9_9": 0}
    _complete(world, calm, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_unchanged_risk_alert_is_not_emailed_twice(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _with_emails(world)
    _complete(world, PHQ9_RISK, django_capture_on_commit_callbacks)
    episode = world.own.current_episode()
    assert episode is not None
    with django_capture_on_commit_callbacks(execute=True):
        refresh_alerts(episode)
    assert len(mail.outbox) == 1


def test_risk_answer_for_an_earlier_session_completed_late_is_raised(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """Links can be completed out of order: a late risk answer must still alert and email."""
    _with_emails(world)
    episode = world.own.current_episode()
    assert episode is not None
    first = next_session(episode, status="attended")
    second = next_session(episode, status="attended")
    calm = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}
    with django_capture_on_commit_callbacks(execute=True):
        record_administration(second, registry().get("phq9"), calm, "link")
        refresh_alerts(episode)
        record_administration(first, registry().get("phq9"), PHQ9_RISK, "link")
        refresh_alerts(episode)
    risk = Alert.objects.get(client=world.own, kind="risk")
    assert risk.session_number == first.number and risk.status == "open"
    assert len(mail.outbox) == 1


def test_a_failing_mail_server_does_not_lose_the_answers(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    _with_emails(world)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: connection refused
    _complete(world, PHQ9_RISK, django_capture_on_commit_callbacks)
    assert Alert.objects.filter(client=world.own, kind="risk", status="open").exists()
