"""The web app fits the expected treatment response from the clinic's own closed episodes."""

from __future__ import annotations

import datetime
import math

from alliance.web.alerts.models import Alert
from alliance.web.alerts.services import clinic_reference, refresh_alerts
from alliance.web.clinic.models import Administration, Episode, Session
from alliance.web.clinic.services import (
    create_client,
    next_session,
    record_administration,
    registry,
)

from .web_fixtures import World


def _closed_episodes(world: World, n: int) -> None:
    """n finished PHQ-9 courses that improve by 4 points per ln(session) from intake 15."""
    for i in range(n):
        client = create_client(world.clinic, world.counselor, f"Past {i}")
        episode = client.current_episode()
        assert episode is not None
        Episode.objects.filter(pk=episode.pk).update(closed_on=datetime.date(2026, 1, 1))
        for number in range(1, 7):
            session = Session.objects.create(
                episode=episode, number=number, date=datetime.date(2025, 1, number)
            )
            total = round(15 - 4 * math.log(number), 1)
            Administration.objects.create(
                session=session, instrument="phq9", status="completed", total=total
            )


def _phq9_with_total(total: int) -> dict[str, int]:
    answers = {f"phq9_{i}": 0 for i in range(1, 10)}
    for i in range(1, 9):
        answers[f"phq9_{i}"] = min(3, total)
        total -= answers[f"phq9_{i}"]
    return answers


def _course(world: World, totals: list[int]) -> None:
    episode = world.own.current_episode()
    assert episode is not None
    Alert.objects.all().delete()
    for total in totals:
        session = next_session(episode, status="attended")
        record_administration(session, registry().get("phq9"), _phq9_with_total(total), "staff")
    refresh_alerts(episode)


def test_default_parameters_until_the_clinic_has_enough_episodes(world: World) -> None:
    _closed_episodes(world, 10)
    _course(world, [15, 16, 17, 18])
    detail = Alert.objects.get(kind="not_on_track").detail
    assert "default parameters" in detail


def test_fitted_from_closed_episodes_once_there_are_fifty(world: World) -> None:
    _closed_episodes(world, 50)
    reference = clinic_reference(world.clinic.pk)
    assert reference is not None and int(reference.group_start.sum()) == 50
    _course(world, [15, 16, 17, 18])
    detail = Alert.objects.get(kind="not_on_track").detail
    assert "fitted from 50 episodes" in detail
