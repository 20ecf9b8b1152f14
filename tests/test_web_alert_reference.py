"""The web app fits the expected treatment response from the clinic's own closed episodes,
once per change of them: a discharge refits it, a submission reuses it."""

from __future__ import annotations

import datetime
import math

from django.test import Client as HttpClient
from django.urls import reverse

from alliance.core.alerts import Kind, Severity, Status, reference_fits
from alliance.web.alerts.models import Alert, ReferenceState
from alliance.web.alerts.services import clinic_reference, fitted_reference, refresh_alerts
from alliance.web.clinic.models import Administration, Episode, Session
from alliance.web.clinic.services import (
    close_episode,
    create_client,
    next_session,
    record_administration,
    registry,
)

from .test_web_feedback import answer_all, new_link
from .web_fixtures import World, logged_in


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


def _open_course(world: World, name: str) -> Episode:
    """A client of the counselor's with an open episode on the same PHQ-9 course."""
    client = create_client(world.clinic, world.counselor, name)
    episode = client.current_episode()
    assert episode is not None
    for number in range(1, 7):
        session = Session.objects.create(
            episode=episode, number=number, date=datetime.date(2025, 2, number)
        )
        Administration.objects.create(
            session=session,
            instrument="phq9",
            status="completed",
            total=round(15 - 4 * math.log(number), 1),
        )
    return episode


def test_a_discharge_refits_the_reference_and_a_submission_reuses_it(world: World) -> None:
    _closed_episodes(world, 49)  # imported history: closed without the app's discharge
    leaving = _open_course(world, "Leaving")
    before = reference_fits()
    discharge = logged_in(world.counselor).post(
        reverse("feedback:discharge", args=[leaving.client_id]), {"ending": "planned"}
    )
    assert discharge.status_code == 200  # the satisfaction link
    assert reference_fits() == before + 1
    fitted = fitted_reference(world.clinic.pk)
    assert fitted is not None and fitted.etr["phq9"].fitted_from == 50
    _, token = new_link(world)
    answer_all(HttpClient(), token)  # a client's submission, through their link
    _course(world, [15, 16, 17, 18])  # and the same client's later ones, entered by staff
    assert reference_fits() == before + 1
    detail = Alert.objects.get(kind=Kind.NOT_ON_TRACK).detail
    assert "fitted from 50 episodes" in detail


def test_a_measure_recorded_in_a_closed_episode_refits_the_reference(world: World) -> None:
    _closed_episodes(world, 49)
    leaving = _open_course(world, "Leaving")
    assert close_episode(leaving, "planned")
    token = ReferenceState.objects.get(clinic=world.clinic).token
    session = next_session(leaving, status="attended")
    record_administration(session, registry().get("phq9"), _phq9_with_total(4), "staff")
    before = reference_fits()
    refresh_alerts(leaving)  # as after the client's discharge measures
    assert reference_fits() == before + 1
    assert ReferenceState.objects.get(clinic=world.clinic).token != token
    fitted = fitted_reference(world.clinic.pk)
    assert fitted is not None and int(fitted.matrices["phq9"].shape[1]) == 7


def test_alert_choices_are_the_cores_vocabulary() -> None:
    status = Alert._meta.get_field("status")
    severity = Alert._meta.get_field("severity")
    assert status.choices == [(s.value, s.label) for s in Status]  # type: ignore[attr-defined]
    assert severity.choices == [(s.value, s.label) for s in Severity]  # type: ignore[attr-defined]
