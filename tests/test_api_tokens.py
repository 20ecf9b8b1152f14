"""The REST API's tokens: scope, expiry, revocation, what a token sees (exactly its owner's
clients: another counselor's and another clinic's are 404), the rate limit, the audit trail and
the token page."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from alliance.web.alerts.models import Alert
from alliance.web.api.models import ApiToken
from alliance.web.api.services import create_token, digest
from alliance.web.audit.models import AuditEvent
from alliance.web.clinic.services import create_client

from .web_fixtures import World, logged_in, risk_alert

pytestmark = pytest.mark.web


def bearer(secret: str) -> HttpClient:
    return HttpClient(headers={"Authorization": f"Bearer {secret}"})


def secret_for(world: World, role: str = "counselor", scope: str = "read") -> str:
    return create_token(world.user(role), scope).secret


def open_alert(world: World, relation: str) -> Alert:
    alert = Alert.objects.filter(client=world.client_for(relation), status="open").first()
    assert alert is not None
    return alert


def ack(http: HttpClient, alert: Alert) -> int:
    url = f"/api/v1/alerts/{alert.pk}/acknowledge"
    return http.post(
        url, {"note": "called the client"}, content_type="application/json"
    ).status_code


def test_only_the_digest_is_stored(world: World) -> None:
    issued = create_token(world.counselor, "read", name="laptop")
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert row.digest == digest(issued.secret) and issued.secret not in str(row.__dict__)
    assert issued.secret.startswith(row.prefix) and len(issued.secret) > 40


def test_a_token_lists_exactly_its_owners_clients(world: World) -> None:
    http = bearer(secret_for(world))
    body = http.get("/api/v1/clients").json()
    assert [c["id"] for c in body["items"]] == [world.own.pk] and body["count"] == 1
    assert body["items"][0]["display_name"] == "Alex Own"
    supervisor = bearer(secret_for(world, "supervisor")).get("/api/v1/clients").json()
    assert {c["id"] for c in supervisor["items"]} == {world.own.pk, world.teammate.pk}


@pytest.mark.parametrize("relation", ["teammate", "other_team", "other_clinic"])
def test_another_counselors_or_clinics_client_is_not_found(world: World, relation: str) -> None:
    http = bearer(secret_for(world, scope="write"))
    client = world.client_for(relation)
    episode = client.current_episode()
    assert episode is not None
    session = episode.sessions.first()
    assert session is not None
    for url in (
        f"/api/v1/clients/{client.pk}",
        f"/api/v1/clients/{client.pk}/episodes",
        f"/api/v1/episodes/{episode.pk}",
        f"/api/v1/episodes/{episode.pk}/sessions",
        f"/api/v1/sessions/{session.pk}",
        f"/api/v1/sessions/{session.pk}/administrations",
        f"/api/v1/alerts/{open_alert(world, relation).pk}",
    ):
        assert http.get(url).status_code == 404, url
    assert ack(http, open_alert(world, relation)) == 404
    assert http.get(f"/api/v1/alerts?client_id={client.pk}").json()["count"] == 0
    denied = AuditEvent.objects.filter(outcome="denied", user=world.counselor)
    assert denied.filter(action="view", object_type="client", object_id=str(client.pk)).exists()


def test_own_client_data_reads(world: World) -> None:
    http = bearer(secret_for(world))
    client = http.get(f"/api/v1/clients/{world.own.pk}").json()
    episode_id = client["current_episode_id"]
    assert (
        http.get(f"/api/v1/clients/{world.own.pk}/episodes").json()["items"][0]["id"] == episode_id
    )
    sessions = http.get(f"/api/v1/episodes/{episode_id}/sessions").json()["items"]
    assert [s["number"] for s in sessions] == [1]
    got = http.get(f"/api/v1/sessions/{sessions[0]['id']}/administrations")
    assert got.status_code == 200 and got.json()["count"] == 0
    assert AuditEvent.objects.filter(action="view", user=world.counselor, outcome="ok").exists()


def test_a_read_token_cannot_acknowledge_and_a_write_token_can(world: World) -> None:
    alert = open_alert(world, "own")
    assert ack(bearer(secret_for(world, scope="read")), alert) == 403
    alert.refresh_from_db()
    assert alert.status == "open"
    writer = bearer(secret_for(world, scope="write"))
    assert ack(writer, alert) == 200
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == world.counselor
    assert ack(writer, alert) == 409
    events = AuditEvent.objects.filter(action="alert_ack", user=world.counselor)
    assert {e.outcome for e in events} == {"denied", "ok", "not_open"}


def test_a_clinic_admins_write_token_still_cannot_change_a_client(world: World) -> None:
    http = bearer(secret_for(world, "admin", scope="write"))
    assert http.get(f"/api/v1/clients/{world.own.pk}").status_code == 200
    assert ack(http, open_alert(world, "own")) == 403


def test_expired_revoked_unknown_and_missing_tokens_are_refused(world: World) -> None:
    expired = create_token(world.counselor, "read")
    ApiToken.objects.filter(pk=expired.token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    revoked = create_token(world.counselor, "read")
    ApiToken.objects.filter(pk=revoked.token.pk).update(revoked_at=timezone.now())
    for secret in (expired.secret, revoked.secret, "alliance_not-a-real-token", "x"):
        assert bearer(secret).get("/api/v1/clients").status_code == 401
    missing = HttpClient().get("/api/v1/clients")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    # A session cookie is not an API credential.
    assert logged_in(world.counselor).get("/api/v1/clients").status_code == 401
    refused = AuditEvent.objects.filter(action="api_auth", outcome="denied")
    assert refused.filter(object_id=str(expired.token.pk)).exists()
    assert refused.filter(object_id=str(revoked.token.pk)).exists()


def test_an_inactive_users_token_stops_working(world: World) -> None:
    http = bearer(secret_for(world))
    world.counselor.is_active = False
    world.counselor.save()
    assert http.get("/api/v1/clients").status_code == 401


def test_the_rate_limit_answers_429_with_retry_after(
    world: World, settings: pytest.FixtureRequest
) -> None:
    settings.ALLIANCE_API_RATE_LIMIT = 3  # type: ignore[attr-defined]
    http = bearer(secret_for(world))
    codes = [http.get("/api/v1/clients").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = http.get("/api/v1/clients")
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 61
    other = bearer(secret_for(world, "supervisor"))
    assert other.get("/api/v1/clients").status_code == 200  # counted per token
    limited_rows = AuditEvent.objects.filter(action="api_auth", outcome="rate_limited")
    assert limited_rows.count() == 1  # one row per window, not one per refused call
    assert ApiToken.objects.filter(owner=world.counselor).get().last_used_at is not None


def test_lists_are_paginated_and_parameters_validated(world: World) -> None:
    http = bearer(secret_for(world, "admin"))
    first = http.get("/api/v1/clients?limit=2&offset=0").json()
    second = http.get("/api/v1/clients?limit=2&offset=2").json()
    assert first["count"] == 3 and len(first["items"]) == 2 and len(second["items"]) == 1
    assert http.get("/api/v1/clients?limit=0").status_code == 422
    assert http.get("/api/v1/clients?limit=100000").status_code == 422
    assert http.get("/api/v1/alerts?status=nonsense").status_code == 422
    assert http.get("/api/v1/clients/99999999999999999999999").status_code == 404
    assert AuditEvent.objects.filter(action="api_call", outcome="refused").count() == 3


def test_alerts_and_the_outcomes_summary(world: World) -> None:
    http = bearer(secret_for(world))
    alerts = http.get("/api/v1/alerts?status=open").json()
    assert [a["client_id"] for a in alerts["items"]] == [world.own.pk]
    summary = http.get("/api/v1/outcomes/summary?instrument=phq9&days=30")
    assert summary.status_code == 200, summary.content
    assert summary.json()["summary"]["episodes"] == 0
    assert http.get("/api/v1/outcomes/summary?instrument=nope").status_code == 422


def test_the_schema_is_published(world: World) -> None:
    schema = bearer(secret_for(world)).get("/api/v1/openapi.json").json()
    assert "/api/v1/alerts/{alert_id}/acknowledge" in schema["paths"]


def test_the_token_page_creates_shows_once_and_revokes(world: World) -> None:
    http = logged_in(world.counselor)
    page = http.post("/accounts/tokens/", {"name": "sync", "scope": "read", "days": "30"})
    assert page.status_code == 200
    match = re.search(r'id="new-token">(alliance_[^<]+)<', page.content.decode())
    assert match
    secret = match.group(1)
    assert bearer(secret).get("/api/v1/clients").status_code == 200
    listing = http.get("/accounts/tokens/").content.decode()
    assert "sync" in listing and secret not in listing
    token = ApiToken.objects.get(owner=world.counselor)
    assert http.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert bearer(secret).get("/api/v1/clients").status_code == 401
    # Someone else's token is not found, and too long a lifetime is refused.
    other = create_token(world.supervisor, "read").token
    assert http.post(f"/accounts/tokens/{other.pk}/revoke/").status_code == 404
    too_long = http.post("/accounts/tokens/", {"scope": "read", "days": "100000"})
    assert too_long.status_code == 400
    actions = set(AuditEvent.objects.filter(user=world.counselor).values_list("action", flat=True))
    assert {"token_create", "token_revoke"} <= actions


def test_the_tokens_command_creates_lists_and_revokes(world: World) -> None:
    from typer.testing import CliRunner

    from alliance.cli import app

    runner = CliRunner()
    made = runner.invoke(app, ["tokens", "create", "couns_a", "--scope", "write", "--name", "ehr"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.splitlines()[0]
    assert secret.startswith("alliance_")
    assert bearer(secret).get("/api/v1/clients").status_code == 200
    token = ApiToken.objects.get(owner=world.counselor)
    assert token.scope == "write" and token.name == "ehr"
    listed = runner.invoke(app, ["tokens", "list", "couns_a"]).stdout
    assert f"{token.pk}\tcouns_a\t{token.prefix}…\twrite\tactive" in listed
    assert secret not in listed
    assert runner.invoke(app, ["tokens", "revoke", str(token.pk)]).exit_code == 0
    assert bearer(secret).get("/api/v1/clients").status_code == 401
    again = runner.invoke(app, ["tokens", "revoke", str(token.pk)])
    assert again.exit_code == 2 and "already revoked" in again.output
    bad = runner.invoke(app, ["tokens", "create", "couns_a", "--scope", "admin"])
    assert bad.exit_code == 2 and "scope must be one of read, write" in bad.output
    too_long = runner.invoke(
        app, ["tokens", "create", "couns_a", "--scope", "read", "--expires-days", "9999"]
    )
    assert too_long.exit_code == 2 and "1 to 365 days" in too_long.output
    assert runner.invoke(app, ["tokens", "create", "nobody", "--scope", "read"]).exit_code == 2
    audited = AuditEvent.objects.filter(action__in=["token_create", "token_revoke"], user=None)
    assert audited.filter(clinic_id_ref=world.clinic.pk).count() == 2


def test_an_address_sending_many_bad_tokens_gets_429_and_stops_filling_the_audit_trail(
    world: World, settings: pytest.FixtureRequest
) -> None:
    bound = settings.ALLIANCE_API_REFUSED_PER_ADDRESS = 5  # type: ignore[attr-defined]
    http = bearer("alliance_guessed-token")
    codes = [http.get("/api/v1/clients").status_code for _ in range(bound + 5)]
    assert codes == [401] * bound + [429] * 5
    rows = AuditEvent.objects.filter(action="api_auth")
    assert rows.filter(outcome="denied").count() == bound
    assert rows.filter(outcome="too_many_refused").count() == 1
    # A valid token from the same address still works: only refusals are counted.
    assert bearer(secret_for(world)).get("/api/v1/clients").status_code == 200


def test_where_two_factor_is_required_the_token_page_waits_for_it(world: World) -> None:
    world.clinic.two_factor_roles = "counselor"
    world.clinic.save()
    page = logged_in(world.counselor).post("/accounts/tokens/", {"scope": "write", "days": "30"})
    assert page.status_code == 302 and "/accounts/two-factor/enrol/" in page["Location"]
    assert not ApiToken.objects.exists()


def test_a_page_of_clients_or_alerts_costs_the_same_few_queries_however_long(
    world: World, django_assert_max_num_queries: Any
) -> None:
    for n in range(20):
        risk_alert(create_client(world.clinic, world.counselor, f"Client {n}"))
    http = bearer(secret_for(world))
    for url in ("/api/v1/clients?limit=200", "/api/v1/alerts?limit=200"):
        with django_assert_max_num_queries(18):  # token, rate count, audit event, page
            assert len(http.get(url).json()["items"]) == 21


def test_a_body_that_is_not_json_is_400_and_audited(world: World) -> None:
    http = bearer(secret_for(world, scope="write"))
    url = f"/api/v1/alerts/{open_alert(world, 'own').pk}/acknowledge"
    assert http.post(url, b"\xff{", content_type="application/json").status_code == 400
    assert AuditEvent.objects.filter(action="api_call", outcome="refused").exists()
