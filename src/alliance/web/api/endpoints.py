"""The REST API, version 1 (django-ninja; schema at ``/api/v1/openapi.json``).

Every object is resolved through ``alliance.web.clinic.access``: a token sees exactly what its
owner's pages show, hidden or unknown ids are 404, and a change to a client the owner may only
read is 403. Every call is audited, under the pages' action names where the API does the same."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import NinjaAPI, Query, Status
from ninja.errors import HttpError

from alliance.web.alerts.models import Alert, AlertStatus
from alliance.web.alerts.services import acknowledge
from alliance.web.api import actions, handlers
from alliance.web.api.auth import TokenAuth, require_write, staff
from alliance.web.api.schemas import (
    AckIn,
    AdministrationPage,
    AlertOut,
    AlertPage,
    ClientDetail,
    ClientPage,
    EpisodeOut,
    EpisodePage,
    Error,
    OutcomesSummary,
    PageParams,
    SessionOut,
    SessionPage,
)
from alliance.web.audit.log import record
from alliance.web.clinic.access import clients_visible_to, episodes_visible_to, get_for
from alliance.web.clinic.models import Administration, Client, Episode, Session
from alliance.web.clinic.services import registry
from alliance.web.outcomes.data import load
from alliance.web.outcomes.forms import DEFAULT_DAYS, DEFAULT_INSTRUMENT, outcome_choices
from alliance.web.outcomes.report import build, instruments_to_load

api = NinjaAPI(
    title="alliance API",
    version="1",
    description="Read a caseload and acknowledge alerts with a personal access token (docs/api.md).",
    auth=TokenAuth(),
    urls_namespace="api_v1",
    docs_url=None,  # the interactive docs load scripts from a CDN, which the CSP forbids
)
handlers.install(api)

#: The answers every operation may give besides its 200 (declared, so clients and the fuzz test
#: know them).
ERRORS: dict[int, Any] = {401: Error, 404: Error, 422: Error, 429: Error}
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 400: Error, 403: Error, 409: Error}  # 400: not JSON
#: Ids are bigints; a larger one in a filter is invalid (422), not a database overflow.
MAX_ID = 2**63 - 1
#: The measures the outcomes summary accepts: the outcomes page's choices (bundled, so fixed).
OUTCOME_MEASURES = [key for key, _ in outcome_choices(registry())]
OUTCOME_PATTERN = "^(" + "|".join(map(re.escape, OUTCOME_MEASURES)) + ")$"


def page(
    request: HttpRequest,
    rows: QuerySet[Any],
    params: PageParams,
    convert: Callable[[Any], dict[str, Any]],
    listed: str,
) -> dict[str, Any]:
    """One page of ``rows`` (already limited to what the user may read), audited as a list."""
    record(staff(request), actions.LIST, object_type="api", object_id=listed)
    items: Iterable[Model] = rows[params.offset : params.offset + params.limit]
    return {
        "count": rows.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [convert(row) for row in items],
    }


def client_out(client: Client) -> dict[str, Any]:
    return {
        "id": client.pk,
        "display_name": client.display_name,
        "counselor": client.counselor.username,
        "active": client.active,
        "created_at": client.created_at,
    }


def episode_out(episode: Episode) -> dict[str, Any]:
    return {
        "id": episode.pk,
        "client_id": episode.client_id,
        "opened_on": episode.opened_on,
        "closed_on": episode.closed_on,
        "ending": episode.ending,
    }


def session_out(session: Session) -> dict[str, Any]:
    fields = ("number", "date", "status", "starts_at", "duration_minutes", "follow_up")
    return {"id": session.pk, "episode_id": session.episode_id} | {
        name: getattr(session, name) for name in fields
    }


def administration_out(row: Administration) -> dict[str, Any]:
    fields = ("instrument", "channel", "status", "answers", "score", "total")
    return {"id": row.pk, "session_id": row.session_id, "completed_at": row.completed_at} | {
        name: getattr(row, name) for name in (*fields, "due_by")
    }


def alert_out(alert: Alert) -> dict[str, Any]:
    fields = ("kind", "rule", "instrument", "session_number", "severity", "detail", "suggestion")
    by = alert.acknowledged_by
    return {
        "id": alert.pk,
        "client_id": alert.client_id,
        "episode_id": alert.episode_id,
        "status": alert.status,
        "raised_at": alert.raised_at,
        "acknowledged_by": by.username if by is not None else None,
        "acknowledged_at": alert.acknowledged_at,
        "note": alert.note,
    } | {name: getattr(alert, name) for name in fields}


@api.get("/clients", response={200: ClientPage, **ERRORS}, tags=["clients"])
def list_clients(
    request: HttpRequest, params: Query[PageParams], active: bool | None = None
) -> dict[str, Any]:
    """The clients the token's owner may read (a counselor's own; a supervisor's team's; a
    clinic admin's clinic), oldest first."""
    rows = clients_visible_to(staff(request).user).select_related("counselor").order_by("id")
    if active is not None:
        rows = rows.filter(active=active)
    return page(request, rows, params, client_out, "client")


@api.get("/clients/{client_id}", response={200: ClientDetail, **ERRORS}, tags=["clients"])
def get_client(request: HttpRequest, client_id: int) -> dict[str, Any]:
    client = get_for(staff(request), Client, client_id)
    episode = client.current_episode()
    return client_out(client) | {
        "external_id": client.external_id,
        "current_episode_id": episode.pk if episode is not None else None,
    }


@api.get("/clients/{client_id}/episodes", response={200: EpisodePage, **ERRORS}, tags=["episodes"])
def list_episodes(
    request: HttpRequest, client_id: int, params: Query[PageParams]
) -> dict[str, Any]:
    client = get_for(staff(request), Client, client_id)
    rows = client.episodes.order_by("opened_on", "id")
    return page(request, rows, params, episode_out, f"episode:client:{client.pk}")


@api.get("/episodes/{episode_id}", response={200: EpisodeOut, **ERRORS}, tags=["episodes"])
def get_episode(request: HttpRequest, episode_id: int) -> dict[str, Any]:
    return episode_out(get_for(staff(request), Episode, episode_id))


@api.get(
    "/episodes/{episode_id}/sessions", response={200: SessionPage, **ERRORS}, tags=["sessions"]
)
def list_sessions(
    request: HttpRequest, episode_id: int, params: Query[PageParams]
) -> dict[str, Any]:
    episode = get_for(staff(request), Episode, episode_id)
    rows = episode.sessions.order_by("number")
    return page(request, rows, params, session_out, f"session:episode:{episode.pk}")


@api.get("/sessions/{session_id}", response={200: SessionOut, **ERRORS}, tags=["sessions"])
def get_session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    return session_out(get_for(staff(request), Session, session_id))


@api.get(
    "/sessions/{session_id}/administrations",
    response={200: AdministrationPage, **ERRORS},
    tags=["administrations"],
)
def list_administrations(
    request: HttpRequest, session_id: int, params: Query[PageParams]
) -> dict[str, Any]:
    """The measures given at one session, with answers and the core's scores."""
    session = get_for(staff(request), Session, session_id)
    rows = session.administrations.order_by("instrument", "id")
    return page(request, rows, params, administration_out, f"administration:session:{session.pk}")


@api.get("/alerts", response={200: AlertPage, **ERRORS}, tags=["alerts"])
def list_alerts(
    request: HttpRequest,
    params: Query[PageParams],
    status: AlertStatus | None = None,
    client_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> dict[str, Any]:
    """Alerts on the clients the owner may read, newest first (``status`` and ``client_id``
    narrow it; a hidden client's id simply lists nothing)."""
    visible = clients_visible_to(staff(request).user)
    rows = Alert.objects.filter(client__in=visible).select_related("acknowledged_by")
    if status is not None:
        rows = rows.filter(status=status.value)
    if client_id is not None:
        rows = rows.filter(client_id=client_id)
    return page(request, rows.order_by("-raised_at", "-id"), params, alert_out, "alert")


@api.get("/alerts/{alert_id}", response={200: AlertOut, **ERRORS}, tags=["alerts"])
def get_alert(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return alert_out(get_for(staff(request), Alert, alert_id))


@api.post(
    "/alerts/{alert_id}/acknowledge",
    response={200: AlertOut, **WRITE_ERRORS},
    tags=["alerts"],
)
def acknowledge_alert(request: HttpRequest, alert_id: int, body: AckIn) -> Any:
    """Acknowledge an open alert with a note (write scope; the owner must be allowed to change
    the client). 409 if it is no longer open."""
    require_write(request, "alert_ack")
    alert = get_for(staff(request), Alert, alert_id, write=True, action="alert_ack")
    done = acknowledge(alert, staff(request).user, body.note.strip() or "-")
    record(request, "alert_ack", alert, outcome="ok" if done else "not_open")
    if not done:
        return Status(409, {"detail": "this alert is not open"})
    alert.refresh_from_db()
    return alert_out(alert)


@api.get("/outcomes/summary", response={200: OutcomesSummary, **ERRORS}, tags=["outcomes"])
def outcomes_summary(
    request: HttpRequest,
    instrument: str = Query(DEFAULT_INSTRUMENT, pattern=OUTCOME_PATTERN),
    days: int = Query(DEFAULT_DAYS, ge=1, le=3660),
) -> dict[str, Any]:
    """Change and recovery on ``instrument`` over the episodes closed in the last ``days``
    among the clients the owner may read (the outcomes page's numbers, from the core)."""
    user = staff(request).user
    reg = registry()
    if instrument not in OUTCOME_MEASURES:
        record(request, "outcomes_view", object_type="outcomes", outcome="refused")
        raise HttpError(422, "unknown outcome measure")
    until = timezone.localdate()
    start = until - datetime.timedelta(days=days)
    episodes = episodes_visible_to(user).filter(closed_on__gte=start, closed_on__lte=until)
    cohort = load(episodes, instruments_to_load(instrument, reg))
    report = build(cohort, reg.get(instrument), reg)
    record(request, "outcomes_view", object_type="outcomes", object_id="api")
    return {
        "instrument": instrument,
        "closed_from": start,
        "closed_until": until,
        "summary": report.summary.to_dict(),
    }
