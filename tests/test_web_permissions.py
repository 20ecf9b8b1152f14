"""The permission matrix: every role x every client-data URL x own / team / other team / other
clinic. Reads are 200 where allowed; writes 200/302; otherwise 404 (unknown to you) or 403
(a clinic admin may read but not change). Every denial is audited."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from alliance.web.alerts.models import Alert
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client, Episode
from alliance.web.transcripts.models import Transcript

from .web_fixtures import World, logged_in


@dataclass(frozen=True)
class Target:
    name: str
    method: str
    url: Callable[[Client], str]
    data: dict[str, str]
    write: bool
    make_data: Callable[[Client], dict[str, Any]] | None = None


def _session(client: Client) -> int:
    return int(client.current_episode().sessions.get().pk)  # type: ignore[union-attr]


def _alert(client: Client) -> int:
    return int(Alert.objects.get(client=client).pk)


def _transcript(client: Client) -> int:
    session = client.current_episode().sessions.get()  # type: ignore[union-attr]
    transcript, _ = Transcript.objects.get_or_create(
        session=session, defaults={"text": "Sam: Hi.\nJo: Hello.", "source_format": "text"}
    )
    return int(transcript.pk)


def _upload(client: Client) -> dict[str, Any]:
    body = b"Sam: What brings you here today?\nJo: My drinking, I guess.\n"
    return {"session": str(_session(client)), "file": SimpleUploadedFile("s.txt", body)}


def _discharged(client: Client) -> dict[str, Any]:
    """A new episode needs the current one discharged first."""
    Episode.objects.filter(pk=client.current_episode().pk).update(  # type: ignore[union-attr]
        closed_on=datetime.date(2026, 1, 5)
    )
    return {}


TARGETS = [
    Target("client page", "get", lambda c: reverse("dashboard:client", args=[c.pk]), {}, False),
    Target("sessions", "get", lambda c: reverse("dashboard:sessions", args=[c.pk]), {}, False),
    Target(
        "new session",
        "post",
        lambda c: reverse("clinic:session_new", args=[c.pk]),
        {"date": "2026-01-05", "status": "attended"},
        True,
    ),
    Target(
        "session status",
        "post",
        lambda c: reverse("clinic:session_status", args=[_session(c)]),
        {"status": "no_show"},
        True,
    ),
    Target(
        "feedback link",
        "post",
        lambda c: reverse("feedback:create_link", args=[_session(c)]),
        {},
        True,
    ),
    Target(
        "plan add",
        "post",
        lambda c: reverse("clinic:plan_add", args=[c.pk]),
        {"instrument": "satisfaction_check", "timing": "discharge"},
        True,
    ),
    Target(
        "plan remove",
        "post",
        lambda c: reverse(
            "clinic:plan_remove",
            args=[c.current_episode().plan.first().pk],  # type: ignore[union-attr]
        ),
        {},
        True,
    ),
    Target(
        "discharge",
        "post",
        lambda c: reverse("feedback:discharge", args=[c.pk]),
        {"ending": "unplanned"},
        True,
    ),
    Target(
        "new episode",
        "post",
        lambda c: reverse("clinic:episode_open", args=[c.pk]),
        {},
        True,
        _discharged,
    ),
    Target("tablet", "post", lambda c: reverse("feedback:tablet", args=[_session(c)]), {}, True),
    Target(
        "episode summary",
        "get",
        lambda c: reverse("outcomes:summary", args=[c.current_episode().pk]),  # type: ignore[union-attr]
        {},
        False,
    ),
    Target(
        "transcript",
        "get",
        lambda c: reverse("transcripts:detail", args=[_transcript(c)]),
        {},
        False,
    ),
    Target("transcript upload", "post", lambda c: reverse("transcripts:upload"), {}, True, _upload),
    Target(
        "transcript delete",
        "post",
        lambda c: reverse("transcripts:delete", args=[_transcript(c)]),
        {},
        True,
    ),
    Target(
        "acknowledge alert",
        "post",
        lambda c: reverse("alerts:ack", args=[_alert(c)]),
        {"note": "discussed"},
        True,
    ),
]

# Which clients each role may read, and which it may change.
READS = {
    "counselor": {"own"},
    "supervisor": {"own", "teammate"},
    "admin": {"own", "teammate", "other_team"},
}
WRITES = {"counselor": {"own"}, "supervisor": {"own", "teammate"}, "admin": set()}
RELATIONS = ["own", "teammate", "other_team", "other_clinic"]


def expected(role: str, relation: str, write: bool) -> set[int]:
    if relation not in READS[role]:
        return {404}
    if write and relation not in WRITES[role]:
        return {403}
    return {200, 302}


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("role", ["admin", "supervisor", "counselor"])
def test_permission_matrix(world: World, role: str, target: Target, relation: str) -> None:
    client = world.client_for(relation)
    http = logged_in(world.user(role))
    data = target.make_data(client) if target.make_data else target.data
    response = getattr(http, target.method)(target.url(client), data)
    assert response.status_code in expected(role, relation, target.write)
    if response.status_code in (403, 404):
        assert AuditEvent.objects.filter(outcome="denied", user=world.user(role)).exists()
        assert b"Alex Own" not in response.content and client.display_name.encode() not in (
            response.content
        )


@pytest.mark.parametrize("role", ["admin", "supervisor", "counselor"])
def test_caseload_lists_exactly_the_visible_clients(world: World, role: str) -> None:
    page = logged_in(world.user(role)).get(reverse("dashboard:caseload")).content.decode()
    for relation in RELATIONS:
        shown = world.client_for(relation).display_name in page
        assert shown == (relation in READS[role]), relation


@pytest.mark.parametrize(
    "url", ["/", "/clients/1/", "/team/", "/audit/", "/clients/new/", "/outcomes/"]
)
def test_anonymous_users_are_sent_to_login(db: object, url: str) -> None:
    from django.test import Client as HttpClient

    response = HttpClient().get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize(
    "role, url, status",
    [
        ("counselor", "dashboard:team", 403),
        ("supervisor", "dashboard:team", 200),
        ("admin", "dashboard:team", 200),
        ("counselor", "dashboard:audit", 403),
        ("supervisor", "dashboard:audit", 403),
        ("admin", "dashboard:audit", 200),
        ("admin", "clinic:client_new", 403),
        ("counselor", "clinic:client_new", 200),
    ],
)
def test_role_pages(world: World, role: str, url: str, status: int) -> None:
    assert logged_in(world.user(role)).get(reverse(url)).status_code == status


def test_supervisor_team_view_shows_only_their_team(world: World) -> None:
    page = logged_in(world.supervisor).get(reverse("dashboard:team")).content.decode()
    assert "couns_a" in page and "couns_b" in page
    assert "couns_c" not in page and "couns_x" not in page


def test_admin_audit_view_shows_only_their_clinic(world: World) -> None:
    logged_in(world.counselor).get(reverse("dashboard:client", args=[world.own.pk]))
    logged_in(world.foreign_counselor).get(reverse("dashboard:client", args=[world.foreign.pk]))
    page = logged_in(world.admin).get(reverse("dashboard:audit")).content.decode()
    assert "couns_a" in page and "couns_x" not in page


def test_guessing_ids_reveals_nothing(world: World) -> None:
    http = logged_in(world.counselor)
    for pk in (world.foreign.pk, 999999, "abc"):
        response = http.get(f"/clients/{pk}/")
        assert response.status_code == 404
    assert http.post(reverse("feedback:create_link", args=[424242])).status_code == 404
    assert http.post(reverse("alerts:ack", args=[424242]), {"note": "x"}).status_code == (404)


HUGE = 10**30


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", f"/clients/{HUGE}/"),
        ("get", f"/clients/{HUGE}/sessions/"),
        ("post", f"/clients/{HUGE}/sessions/new/"),
        ("post", f"/sessions/{HUGE}/status/"),
        ("post", f"/sessions/{HUGE}/link/"),
        ("post", f"/sessions/{HUGE}/tablet/"),
        ("post", f"/alerts/{HUGE}/ack/"),
        ("post", f"/clients/{HUGE}/plan/"),
        ("post", f"/plan/{HUGE}/remove/"),
        ("post", f"/clients/{HUGE}/discharge/"),
        ("post", f"/clients/{HUGE}/episodes/new/"),
        ("get", f"/episodes/{HUGE}/summary/"),
        ("get", f"/f/{'a' * 43}/{HUGE}/"),
    ],
)
def test_out_of_range_ids_are_404_not_500(world: World, method: str, url: str) -> None:
    response = getattr(logged_in(world.counselor), method)(url, {"note": "x"})
    assert response.status_code == 404
