"""One access path (``alliance.web.clinic.access.get_for``) audits every client-data URL alike:
a refused lookup writes exactly one ``denied`` row under the view's action name, a 404 against
the object asked for (its type and id) and a 403 against the client; an allowed one an ``ok``
row against the client."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient

from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.models import Client

from .test_web_permissions import TARGETS, Target
from .web_fixtures import World, logged_in

# Target -> (audited action, type of the object its URL names).
AUDITED = {
    "client page": ("view", "client"),
    "sessions": ("view", "client"),
    "new session": ("session_create", "client"),
    "session status": ("session_update", "session"),
    "feedback link": ("link_create", "session"),
    "plan add": ("plan_update", "client"),
    "plan remove": ("plan_update", "measureplanitem"),
    "discharge": ("episode_close", "client"),
    "new episode": ("episode_open", "client"),
    "tablet": ("tablet_start", "session"),
    "episode summary": ("episode_summary", "episode"),
    "transcript": ("transcript_view", "transcript"),
    "transcript upload": ("transcript_upload", "session"),
    "transcript delete": ("transcript_delete", "transcript"),
    "acknowledge alert": ("alert_ack", "alert"),
}


def _send(http: HttpClient, target: Target, client: Client) -> tuple[int, str]:
    """Send the target's request; its status and the id of the object it names."""
    data = target.make_data(client) if target.make_data else target.data
    url = target.url(client)
    named = str(data["session"]) if "session" in data else re.findall(r"\d+", url)[-1]
    return getattr(http, target.method)(url, data).status_code, named


def test_every_target_is_specified() -> None:
    assert {t.name for t in TARGETS} == set(AUDITED)


@pytest.mark.parametrize("relation", ["other_team", "other_clinic"])
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_a_hidden_object_is_one_denied_row_naming_what_was_asked_for(
    world: World, target: Target, relation: str
) -> None:
    status, named = _send(logged_in(world.counselor), target, world.client_for(relation))
    assert status == 404
    denied = AuditEvent.objects.filter(outcome="denied")
    rows = list(denied.values_list("action", "object_type", "object_id", "username"))
    assert rows == [(*AUDITED[target.name], named, "couns_a")]


@pytest.mark.parametrize("target", [t for t in TARGETS if t.write], ids=lambda t: t.name)
def test_a_read_only_write_is_one_denied_row_against_the_client(
    world: World, target: Target
) -> None:
    status, _ = _send(logged_in(world.admin), target, world.own)
    assert status == 403
    denied = AuditEvent.objects.filter(outcome="denied")
    rows = list(denied.values_list("action", "object_type", "object_id", "clinic_id_ref"))
    assert rows == [(AUDITED[target.name][0], "client", str(world.own.pk), world.clinic.pk)]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_an_allowed_access_is_audited_against_the_client(world: World, target: Target) -> None:
    status, _ = _send(logged_in(world.counselor), target, world.own)
    assert status in (200, 302)
    action = AUDITED[target.name][0]
    assert AuditEvent.objects.filter(
        action=action, object_type="client", object_id=str(world.own.pk), outcome="ok"
    ).exists()
    assert not AuditEvent.objects.filter(outcome="denied").exists()


@pytest.mark.parametrize("pk", ["abc", "0", "-3", str(10**30)])
def test_malformed_ids_are_unknown(world: World, pk: str) -> None:
    response = logged_in(world.counselor).post("/transcripts/upload/", {"session": pk})
    assert response.status_code == 404
    event = AuditEvent.objects.get(outcome="denied")
    assert (event.action, event.object_type, event.object_id) == (
        "transcript_upload",
        "session",
        pk[:40],
    )
