"""The outcomes page reads a fixed number of queries, however many episodes it summarises.

The same page, as each role, in a clinic whose clients have 1 closed episode each and in one
whose clients have 8 (with more counselors' rows and more sessions), must cost the same number of
queries: the page reads columns with ``values_list``, never one query per episode.
"""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alliance.web.clinic.models import Episode

from .test_web_outcomes import closed_episode
from .web_fixtures import World, logged_in

ROLES = ("counselor", "supervisor", "admin")


def _queries(world: World) -> dict[str, int]:
    counts = {}
    for role in ROLES:
        http = logged_in(world.user(role))
        assert http.get(reverse("outcomes:page")).status_code == 200  # warm: session, caches
        with CaptureQueriesContext(connection) as queries:
            assert http.get(reverse("outcomes:page")).status_code == 200
        counts[role] = len(queries)
    own = Episode.objects.filter(client=world.own, closed_on__isnull=False).first()
    assert own is not None
    http = logged_in(world.counselor)
    http.get(reverse("outcomes:summary", args=[own.pk]))
    with CaptureQueriesContext(connection) as queries:
        assert http.get(reverse("outcomes:summary", args=[own.pk])).status_code == 200
    counts["summary"] = len(queries)
    return counts


def test_the_outcomes_page_costs_the_same_for_one_and_eight_episodes_a_client(
    world: World,
) -> None:
    clients = [world.own, world.teammate, world.other_team]
    for client in clients:
        closed_episode(client)
    small = _queries(world)
    for client in clients:
        for _ in range(7):
            closed_episode(client, "unplanned", (18, 17, 15, 12, 11, 9))
    assert Episode.objects.filter(closed_on__isnull=False).count() == 24
    large = _queries(world)
    assert large == small, (small, large)
