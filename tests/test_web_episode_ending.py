"""Discharge records how an episode ended and makes the end-of-treatment satisfaction link,
shown once like every feedback link; the client's answers are stored on the episode's last
session."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Administration, Ending, Episode
from alliance.web.clinic.services import close_episode, next_session

from .web_fixtures import World, logged_in, token_from

SATISFIED = {
    "sat_overall": 5,
    "sat_helped": 4,
    "sat_respect": 5,
    "sat_recommend": 4,
    "sat_different": 2,  # reverse-keyed: 4
}


def _discharge(world: World, ending: str = "unplanned") -> tuple[Episode, str]:
    episode = world.own.current_episode()
    assert episode is not None
    response = logged_in(world.counselor).post(
        reverse("feedback:discharge", args=[world.own.pk]), {"ending": ending}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "End-of-treatment satisfaction link" in page and "It asks: Satisfaction check." in page
    episode.refresh_from_db()
    return episode, token_from(page)


def test_discharge_records_the_ending_and_the_client_answers_the_satisfaction_check(
    world: World,
) -> None:
    second = next_session(world.own.current_episode())  # type: ignore[arg-type]
    episode, token = _discharge(world)
    assert episode.closed_on is not None and episode.ending == Ending.UNPLANNED
    assert episode.plan.filter(instrument="satisfaction_check", timing="discharge").exists()
    phone = HttpClient()
    page = phone.get(reverse("feedback:step", args=[token, 1]))
    assert b"Satisfaction check" in page.content and b"Questionnaire 1 of 1" in page.content
    answered = phone.post(reverse("feedback:step", args=[token, 1]), SATISFIED)
    assert answered.status_code == 302
    done = Administration.objects.get(instrument="satisfaction_check", status="completed")
    assert done.session == second  # the episode's last session
    assert done.total == pytest.approx(4.4)
    actions = AuditEvent.objects.filter(username="couns_a").values_list("action", flat=True)
    assert {"episode_close", "link_create"} <= set(actions)


def test_discharge_asks_how_the_episode_ended(world: World) -> None:
    http = logged_in(world.counselor)
    url = reverse("feedback:discharge", args=[world.own.pk])
    for bad in ({}, {"ending": ""}, {"ending": "finished"}):
        assert http.post(url, bad).status_code == 400
    episode = world.own.current_episode()
    assert episode is not None and episode.closed_on is None
    sessions = http.get(reverse("dashboard:sessions", args=[world.own.pk])).content.decode()
    for value in Ending.values:
        assert f'value="{value}"' in sessions


def test_a_closed_episode_is_not_closed_again(world: World) -> None:
    episode, _ = _discharge(world, "planned")
    again = logged_in(world.counselor).post(
        reverse("feedback:discharge", args=[world.own.pk]), {"ending": "other"}
    )
    assert again.status_code == 302
    episode.refresh_from_db()
    assert episode.ending == Ending.PLANNED
    assert Administration.objects.filter(instrument="satisfaction_check").count() == 1


def test_an_episode_without_sessions_closes_without_a_link(world: World) -> None:
    episode = world.own.current_episode()
    assert episode is not None
    episode.sessions.all().delete()
    response = logged_in(world.counselor).post(
        reverse("feedback:discharge", args=[world.own.pk]), {"ending": "transferred"}
    )
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.ending == Ending.TRANSFERRED
    assert not Administration.objects.filter(instrument="satisfaction_check").exists()


def test_close_episode_refuses_an_unknown_ending(world: World) -> None:
    episode = world.own.current_episode()
    assert episode is not None
    with pytest.raises(ValueError, match="unknown ending"):
        close_episode(episode, "finished")


def test_the_endings_are_the_cores() -> None:
    from alliance.core.outcomes import Ending as CoreEnding

    assert Ending.values == [e.value for e in CoreEnding]
