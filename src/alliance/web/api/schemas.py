"""What the API returns: ids, codes and the fields the owner's pages show (names included,
since the caseload shows them to the same user); never answers the pages hide."""

from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema

#: Lists return at most this many rows per call.
MAX_LIMIT = 200


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=1_000_000)


class Error(Schema):
    detail: Any


class ClientOut(Schema):
    id: int
    display_name: str
    counselor: str
    active: bool
    created_at: datetime.datetime


class ClientDetail(ClientOut):
    external_id: str
    current_episode_id: int | None


class EpisodeOut(Schema):
    id: int
    client_id: int
    opened_on: datetime.date
    closed_on: datetime.date | None
    ending: str


class SessionOut(Schema):
    id: int
    episode_id: int
    number: int
    date: datetime.date
    status: str
    starts_at: datetime.time | None
    duration_minutes: int
    follow_up: bool


class AdministrationOut(Schema):
    id: int
    session_id: int
    instrument: str
    channel: str
    status: str
    answers: dict[str, Any]
    score: dict[str, Any]
    total: float | None
    completed_at: datetime.datetime | None
    due_by: datetime.datetime | None


class AlertOut(Schema):
    id: int
    client_id: int
    episode_id: int
    kind: str
    rule: str
    instrument: str
    session_number: int | None
    severity: str
    detail: str
    suggestion: str
    status: str
    raised_at: datetime.datetime
    acknowledged_by: str | None
    acknowledged_at: datetime.datetime | None
    note: str


class AckIn(Schema):
    note: str = Field(..., min_length=1, max_length=2000)


class Page(Schema):
    count: int
    limit: int
    offset: int


class ClientPage(Page):
    items: list[ClientOut]


class EpisodePage(Page):
    items: list[EpisodeOut]


class SessionPage(Page):
    items: list[SessionOut]


class AdministrationPage(Page):
    items: list[AdministrationOut]


class AlertPage(Page):
    items: list[AlertOut]


class OutcomesSummary(Schema):
    instrument: str
    closed_from: datetime.date
    closed_until: datetime.date
    summary: dict[str, Any]
