"""A client's submission waits only for its risk alerts; the rest of the episode's alerts and the
safety emails follow from the background refresh, which is idempotent and recoverable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from alliance.web.alerts.models import Alert, AlertRefresh
from alliance.web.alerts.services import refresh_alerts
from alliance.web.alerts.tasks import recover_refreshes, request_refresh, run_refresh

from .test_web_feedback import new_link
from .web_fixtures import GAD7_ANSWERS, PHQ9_RISK, World

LOW_ALLIANCE = {"ac_heard": 1, "ac_respect": 1, "ac_trust": 1, "ac_goals": 1, "ac_tasks": 1}


def _with_emails(world: World) -> None:
    world.counselor.email = "couns@example.org"
    world.counselor.save(update_fields=["email"])
    Alert.objects.all().delete()


def _submit(world: World, capture: Any) -> int:
    """Answer every page of a new link; the episode's id."""
    session, token = new_link(world)
    phone = HttpClient()
    with capture(execute=True):  # what runs once the submission commits, before "thank you"
        for step, answers in enumerate((PHQ9_RISK, GAD7_ANSWERS, LOW_ALLIANCE), start=1):
            response = phone.post(reverse("feedback:step", args=[token, step]), answers)
            assert response.status_code == 302, response.content[:400]
    return int(session.episode_id)


def _kinds(episode_id: int) -> set[str]:
    return set(Alert.objects.filter(episode_id=episode_id).values_list("kind", flat=True))


def test_submit_raises_risk_at_once_and_leaves_email_and_other_alerts_to_the_worker(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _with_emails(world)
    episode_id = _submit(world, django_capture_on_commit_callbacks)
    assert _kinds(episode_id) == {"risk"}  # on screen for staff before the worker runs
    assert mail.outbox == []  # no mail server held the client's request
    assert AlertRefresh.objects.filter(pk=episode_id).exists()
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert run_refresh(episode_id) == "refreshed"
    assert len(mail.outbox) == 1 and "safety alert" in mail.outbox[0].subject
    assert "alliance_rupture" in _kinds(episode_id)
    assert not AlertRefresh.objects.filter(pk=episode_id).exists()


def test_the_background_refresh_matches_a_full_refresh_and_is_safe_to_repeat(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    _with_emails(world)
    episode_id = _submit(world, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        run_refresh(episode_id)
        assert run_refresh(episode_id) == "nothing to do"  # a duplicate queue entry
        before = list(Alert.objects.filter(episode_id=episode_id).values("kind", "rule", "status"))
        refresh_alerts(world.own.current_episode())  # type: ignore[arg-type]
    after = list(Alert.objects.filter(episode_id=episode_id).values("kind", "rule", "status"))
    assert after == before
    assert len(mail.outbox) == 1  # the risk alert is emailed once


def test_a_failing_mail_server_keeps_the_marker_until_the_email_goes(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    _with_emails(world)
    episode_id = _submit(world, django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens
    with django_capture_on_commit_callbacks(execute=True):
        assert run_refresh(episode_id) == "refreshed; an email is still to be sent"
    assert Alert.objects.get(episode_id=episode_id, kind="risk").notify_pending
    assert AlertRefresh.objects.filter(pk=episode_id).exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        assert run_refresh(episode_id) == "refreshed"
    assert len(mail.outbox) == 1
    assert not AlertRefresh.objects.filter(pk=episode_id).exists()


def test_recovery_queues_markers_left_behind_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    episode_id = _submit(world, django_capture_on_commit_callbacks)
    DBTaskResult.objects.all().delete()  # the queue entry died with its worker
    assert recover_refreshes() == 0  # queued just now: its worker may still be on it
    later = timezone.now() + timedelta(hours=1)
    assert recover_refreshes(later) == 1
    assert recover_refreshes(later) == 0  # a second worker recovering at once queues nothing
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert AlertRefresh.objects.filter(pk=episode_id).exists()


def test_two_requests_for_one_episode_keep_one_marker_and_one_refresh(world: World) -> None:
    episode = world.own.current_episode()
    assert episode is not None
    request_refresh(episode)
    request_refresh(episode)  # a second submission before the worker ran
    assert AlertRefresh.objects.filter(pk=episode.pk).count() == 1
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    assert run_refresh(episode.pk) == "refreshed"
    assert run_refresh(episode.pk) == "nothing to do"
