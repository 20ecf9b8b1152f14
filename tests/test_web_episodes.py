"""A returning client gets a new episode of care; sessions, charts and alerts are per episode."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from alliance.web.alerts.models import Alert, AlertStatus
from alliance.web.alerts.services import acknowledge, refresh_alerts
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client, Episode
from alliance.web.clinic.services import next_session, record_administration, registry
from alliance.web.dashboard.summaries import caseload

from .web_fixtures import World, logged_in

RUPTURE = "alliance:drop_from_previous"


def _discharge(episode: Episode) -> None:
    Episode.objects.filter(pk=episode.pk).update(closed_on=timezone.localdate())


def _alliance(episode: Episode, rating: int) -> None:
    """One attended session with every alliance-check item answered ``rating``."""
    instrument = registry().get("alliance_check")
    session = next_session(episode, status="attended")
    record_administration(session, instrument, {i.id: rating for i in instrument.items}, "staff")
    refresh_alerts(episode)


def _phq9(episode: Episode, sessions: int) -> None:
    instrument = registry().get("phq9")
    for _ in range(sessions):
        session = next_session(episode, status="attended")
        record_administration(session, instrument, {i.id: 1 for i in instrument.items}, "staff")


def _open_new(world: World) -> Episode:
    response = logged_in(world.counselor).post(reverse("clinic:episode_open", args=[world.own.pk]))
    assert response.status_code == 302
    episode = world.own.current_episode()
    assert episode is not None
    return episode


def test_a_discharged_client_can_start_a_new_episode(world: World) -> None:
    first = world.own.current_episode()
    assert first is not None
    _discharge(first)
    page = logged_in(world.counselor).get(reverse("dashboard:sessions", args=[world.own.pk]))
    assert b"start a new episode" in page.content

    second = _open_new(world)

    assert second.pk != first.pk and second.closed_on is None
    assert sorted(p.instrument for p in second.plan.all()) == sorted(
        p.instrument for p in first.plan.all()
    )
    assert next_session(second).number == 1  # numbering starts afresh
    event = AuditEvent.objects.get(action="episode_open", object_type="episode")
    assert event.object_id == str(second.pk) and event.user == world.counselor


def test_no_second_episode_while_one_is_open(world: World) -> None:
    before = Episode.objects.filter(client=world.own).count()
    http = logged_in(world.counselor)
    response = http.post(reverse("clinic:episode_open", args=[world.own.pk]))
    assert response.status_code == 409
    assert b"discharge it first" in response.content
    assert Episode.objects.filter(client=world.own).count() == before


def test_an_earlier_episode_does_not_silence_a_new_episodes_alerts(world: World) -> None:
    first = world.own.current_episode()
    assert first is not None
    _alliance(first, 5)
    _alliance(first, 4)
    old = Alert.objects.get(episode=first, rule=RUPTURE)
    assert acknowledge(old, world.counselor, "talked it through")
    _discharge(first)

    second = _open_new(world)
    _alliance(second, 5)
    _alliance(second, 4)  # the same drop at the same session number, in the new episode

    new = Alert.objects.get(episode=second, rule=RUPTURE)
    assert new.status == AlertStatus.OPEN and new.session_number == 2
    old.refresh_from_db()
    assert old.status == AlertStatus.ACKNOWLEDGED
    page = logged_in(world.counselor).get(reverse("dashboard:client", args=[world.own.pk]))
    labelled = page.content.decode().count("of the episode opened")
    assert labelled == Alert.objects.filter(episode=first).count() > 0  # only the old ones


def test_client_page_charts_one_episode_at_a_time(world: World) -> None:
    first = world.own.current_episode()
    assert first is not None
    _phq9(first, 3)
    _discharge(first)
    second = _open_new(world)
    _phq9(second, 1)
    http = logged_in(world.counselor)
    url = reverse("dashboard:client", args=[world.own.pk])

    current = http.get(url).content.decode()
    earlier = http.get(url, {"episode": first.pk}).content.decode()

    assert 'aria-label="Episodes of care"' in current
    assert '<th scope="col">S1</th>' in current and '<th scope="col">S3</th>' not in current
    assert '<th scope="col">S3</th>' in earlier
    assert f"closed {timezone.localdate():%-d %b %Y}" in earlier


def test_an_episode_of_another_client_is_not_found(world: World) -> None:
    theirs = world.teammate.current_episode()
    assert theirs is not None
    http = logged_in(world.counselor)
    url = reverse("dashboard:client", args=[world.own.pk])
    for episode in (theirs.pk, 999999, "abc"):
        assert http.get(url, {"episode": episode}).status_code == 404


def test_upgrade_attaches_existing_alerts_to_the_clients_episode(
    transactional_db: object, data_dir: object
) -> None:
    """Migration 0003 keeps every alert: each goes to its client's (until now only) episode."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from alliance.web.accounts.models import Clinic, Role
    from alliance.web.clinic.services import create_client

    from .web_fixtures import make_user

    clinic = Clinic.objects.create(name="Upgraded clinic")
    client = create_client(clinic, make_user("c_up", Role.COUNSELOR, clinic, None), "Up Grade")
    episode = client.current_episode()
    assert episode is not None
    before = [("alerts", "0002_risk_alert_per_answer")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_alert = executor.loader.project_state(before).apps.get_model("alerts", "Alert")
    old_alert.objects.create(
        client_id=client.pk, kind="risk", rule="risk:item9", instrument="phq9", severity="safety"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert list(Alert.objects.values_list("episode_id", flat=True)) == [episode.pk]


def test_caseload_shows_the_current_episodes_scores(world: World) -> None:
    first = world.own.current_episode()
    assert first is not None
    instrument = registry().get("phq9")
    for _ in range(3):  # a long, severe earlier episode
        session = next_session(first, status="attended")
        record_administration(session, instrument, {i.id: 3 for i in instrument.items}, "staff")
    _discharge(first)
    second = _open_new(world)
    _phq9(second, 1)  # total 9

    rows = caseload(Client.objects.filter(pk=world.own.pk))

    assert rows[0].latest["phq9"].total == 9 and rows[0].sessions == 1


def test_an_earlier_episodes_sessions_are_read_only_but_reachable(world: World) -> None:
    first = world.own.current_episode()
    assert first is not None
    _phq9(first, 2)
    _discharge(first)
    _open_new(world)
    http = logged_in(world.counselor)
    url = reverse("dashboard:sessions", args=[world.own.pk])

    earlier = http.get(url, {"episode": first.pk}).content.decode()
    current = http.get(url).content.decode()

    assert "shown read-only" in earlier and "Add session" not in earlier
    assert 'action="/sessions/' not in earlier  # no status, link or tablet forms
    assert "Add session" in current and "shown read-only" not in current


def test_a_refused_new_episode_is_audited_as_refused(world: World) -> None:
    logged_in(world.counselor).post(reverse("clinic:episode_open", args=[world.own.pk]))
    assert AuditEvent.objects.filter(action="episode_open", outcome="refused").count() == 1


def test_the_database_allows_one_open_episode_per_client(world: World) -> None:
    import pytest
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Episode.objects.create(client=world.own, opened_on=timezone.localdate())
