"""The outcomes page and the episode summary: who sees which episodes, what the numbers are,
and that every view is audited.

Each client of the world gets a different number of closed episodes (own 1, teammate 2, other
team 4, other clinic 8), so the episode count on the page says exactly whose episodes a role
was shown.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client, Episode
from alliance.web.clinic.services import next_session, record_administration, registry

from .web_fixtures import ALLIANCE_ANSWERS, World, logged_in

#: Closed episodes per client relation, and each one's PHQ-9 course (16 -> 7: reliable
#: improvement and recovery; the manual's reliable change is 6 points, caseness 10).
EPISODES = {"own": 1, "teammate": 2, "other_team": 4, "other_clinic": 8}
COURSE = (16, 12, 7)


def phq9_answers(total: int) -> dict[str, int]:
    """PHQ-9 answers summing to ``total`` (item 9, the risk item, left at 0)."""
    answers = {f"phq9_{i}": 0 for i in range(1, 10)}
    for i in range(total):
        answers[f"phq9_{i % 8 + 1}"] += 1
    return answers


def closed_episode(
    client: Client, ending: str = "planned", course: tuple[int, ...] = COURSE
) -> Episode:
    """An episode closed 30 days ago with weekly PHQ-9 scores of ``course`` and alliance
    checks."""
    closed = timezone.localdate() - datetime.timedelta(days=30)
    opened = closed - datetime.timedelta(weeks=len(course))
    episode = Episode.objects.create(client=client, opened_on=opened, closed_on=closed)
    Episode.objects.filter(pk=episode.pk).update(ending=ending)
    phq9, check = registry().get("phq9"), registry().get("alliance_check")
    for week, total in enumerate(course):
        session = next_session(episode, opened + datetime.timedelta(weeks=week), "attended")
        record_administration(session, phq9, phq9_answers(total), "staff")
        record_administration(session, check, ALLIANCE_ANSWERS, "staff")
    return episode


@pytest.fixture
def histories(world: World) -> dict[str, list[Episode]]:
    return {
        relation: [closed_episode(world.client_for(relation)) for _ in range(count)]
        for relation, count in EPISODES.items()
    }


def shown(html: str) -> int:
    match = re.search(r"(\d+) episodes? ended", html)
    assert match, "no headline on the page"
    return int(match.group(1))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("counselor", EPISODES["own"]),
        ("teammate_counselor", EPISODES["teammate"]),
        ("supervisor", EPISODES["own"] + EPISODES["teammate"]),
        ("admin", EPISODES["own"] + EPISODES["teammate"] + EPISODES["other_team"]),
        ("foreign_counselor", EPISODES["other_clinic"]),
    ],
)
def test_each_role_sees_the_episodes_of_the_clients_it_may_read(
    world: World, histories: dict[str, list[Episode]], role: str, expected: int
) -> None:
    response = logged_in(world.user(role)).get(reverse("outcomes:page"))
    assert response.status_code == 200
    assert shown(response.content.decode()) == expected
    event = AuditEvent.objects.filter(action="outcomes_view").get()
    assert event.outcome == "ok" and event.username == world.user(role).username


def test_nobody_filters_their_way_to_a_colleagues_clients(
    world: World, histories: dict[str, list[Episode]]
) -> None:
    url = reverse("outcomes:page")
    counselor = logged_in(world.counselor)
    for hidden in (world.teammate_counselor, world.south_counselor, world.foreign_counselor):
        assert counselor.get(url, {"counselor": hidden.pk}).status_code == 400
    supervisor = logged_in(world.supervisor)
    south = world.south_counselor.team_id
    assert supervisor.get(url, {"team": south}).status_code == 400
    assert supervisor.get(url, {"counselor": world.south_counselor.pk}).status_code == 400
    assert AuditEvent.objects.filter(action="outcomes_view", outcome="refused").count() == 5
    mine = supervisor.get(url, {"counselor": world.teammate_counselor.pk})
    assert shown(mine.content.decode()) == EPISODES["teammate"]
    admin = logged_in(world.admin).get(url, {"team": south})
    assert shown(admin.content.decode()) == EPISODES["other_team"]
    scopes = AuditEvent.objects.filter(action="outcomes_view", outcome="ok")
    assert list(scopes.order_by("pk").values_list("object_id", flat=True)) == [
        f"counselor:{world.teammate_counselor.pk}",
        f"team:{south}",
    ]


def test_the_period_selects_episodes_by_when_they_ended(
    world: World, histories: dict[str, list[Episode]]
) -> None:
    http = logged_in(world.counselor)
    today = timezone.localdate()
    recent = {"start": (today - datetime.timedelta(days=10)).isoformat()}
    assert shown(http.get(reverse("outcomes:page"), recent).content.decode()) == 0
    backwards = {"start": today.isoformat(), "end": (today - datetime.timedelta(days=1))}
    assert http.get(reverse("outcomes:page"), backwards).status_code == 400


def test_the_page_shows_rates_dropout_and_per_counselor_rows_for_supervision(
    world: World, histories: dict[str, list[Episode]]
) -> None:
    closed_episode(world.own, "unplanned", (15, 15))  # no reliable change, a dropout
    page = logged_in(world.supervisor).get(reverse("outcomes:page")).content.decode()
    assert shown(page) == 4
    # 3 of 4 paired episodes improved reliably and recovered (16 -> 7); Wilson 95% for 3/4
    assert re.search(r"Reliable improvement</th><td>3 of 4</td><td>75% \(30%–95%\)", page)
    assert re.search(r"Recovery</th><td>3 of 4</td>", page)
    assert "Dropout (unplanned ending): 25%" in page
    assert "For supervision, not ranking." in page
    assert "couns_a" in page and "couns_b" in page and "couns_c" not in page
    assert "Not enough data: 4 episodes" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' not in page  # 4 < 5 episodes a session
    counselor = logged_in(world.counselor).get(reverse("outcomes:page")).content.decode()
    assert "For supervision, not ranking." not in counselor


def test_the_episode_summary_is_readable_where_the_client_is(
    world: World, histories: dict[str, list[Episode]]
) -> None:
    own = histories["own"][0]
    url = reverse("outcomes:summary", args=[own.pk])
    page = logged_in(world.counselor).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>Reliable improvement</td>" in html and "<td>Reliable recovery</td>" in html
    assert "went from 16 (moderately severe) at session 1 to 7 (mild) at session 3" in html
    assert "<td>16</td><td>12</td><td>7</td>" in html
    assert logged_in(world.supervisor).get(url).status_code == 200
    assert logged_in(world.admin).get(url).status_code == 200
    for role in ("teammate_counselor", "south_counselor", "foreign_counselor"):
        assert logged_in(world.user(role)).get(url).status_code == 404
    denied = AuditEvent.objects.filter(action="episode_summary", outcome="denied").count()
    assert denied == 3


def test_satisfaction_answers_feed_the_page(
    world: World, histories: dict[str, list[Episode]]
) -> None:
    episode = histories["own"][0]
    session = episode.sessions.order_by("-number").first()
    assert session is not None
    answers = {"sat_overall": 5, "sat_helped": 5, "sat_respect": 5, "sat_recommend": 4}
    satisfaction = registry().get("satisfaction_check")
    record_administration(session, satisfaction, answers | {"sat_different": 1}, "link")
    page = logged_in(world.counselor).get(reverse("outcomes:page")).content.decode()
    assert "1 answer, from 100%" in page and "Mean 4.80" in page
    summary = logged_in(world.counselor).get(reverse("outcomes:summary", args=[episode.pk]))
    assert "4.80 of 5 (Satisfied)" in summary.content.decode()


def test_counselor_rates_are_pulled_toward_their_own_teams_rate(world: World) -> None:
    for client in (world.own, world.teammate):  # North: every episode improves reliably
        closed_episode(client)
        closed_episode(client)
    closed_episode(world.other_team, course=(16, 15))  # South: no reliable change
    closed_episode(world.other_team, course=(16, 15))
    page = logged_in(world.admin).get(reverse("outcomes:page")).content.decode()
    found = {
        name: (team, int(rate))
        for name, team, rate in re.findall(
            r'<th scope="row">(couns_\w)</th><td>(\w+)</td><td>\d+</td>\s*<td>(\d+)%', page
        )
    }
    # pooled over the clinic all three would move toward 4 of 6; each team keeps its own rate
    assert found == {"couns_a": ("North", 100), "couns_b": ("North", 100), "couns_c": ("South", 0)}


def test_a_platform_operator_of_no_clinic_sees_no_outcomes(world: World) -> None:
    from alliance.web.accounts.models import User

    from .web_fixtures import PASSWORD, operator_client

    http = operator_client(User.objects.create_superuser("operator", password=PASSWORD))
    assert http.get(reverse("outcomes:page")).status_code == 403
    assert AuditEvent.objects.filter(action="outcomes_view", outcome="denied").exists()
