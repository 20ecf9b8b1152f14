"""Read-side helpers for the dashboard: caseload rows, chart data, supervisor numbers.

Nothing here decides what is clinically worrying: risk and alerts come from Alert rows (raised
by the core), severity labels from stored core scores, cutoffs from the instrument.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from alliance.core import charts
from alliance.core.instruments import Instrument
from alliance.web.accounts.models import User
from alliance.web.alerts.models import SEVERITY_RANK, Alert, AlertStatus, Severity
from alliance.web.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    Episode,
    Session,
    SessionStatus,
)
from alliance.web.clinic.services import registry


@dataclass
class CaseloadRow:
    client: Client
    risk: bool
    open_alerts: int
    overdue: int
    sessions: int
    latest: dict[str, Administration] = field(default_factory=dict)

    @property
    def summary(self) -> list[tuple[str, Any, str]]:
        """Latest total and severity label per instrument, for the caseload table."""
        reg = registry()
        return [
            (reg.get(i).short_title, a.total, a.score.get("severity_label") or "")
            for i, a in sorted(self.latest.items())
        ]

    @property
    def sort_key(self) -> tuple[int, int, int, str]:
        return (0 if self.risk else 1, -self.open_alerts, -self.overdue, self.client.display_name)


def _due_sessions(sessions: list[Session]) -> list[Session]:
    today = timezone.localdate()
    return [
        s
        for s in sessions
        if s.status == SessionStatus.ATTENDED
        or (s.status == SessionStatus.SCHEDULED and s.date <= today)
    ]


def overdue_count(sessions: list[Session]) -> int:
    """Sessions that happened (or were due) but have no completed measure."""
    return sum(
        1
        for s in _due_sessions(sessions)
        if not any(a.status == AdministrationStatus.COMPLETED for a in s.administrations.all())
    )


def caseload(clients: QuerySet[Client]) -> list[CaseloadRow]:
    """One row per client (their current episode), most in need of attention first."""
    open_alerts = Prefetch(
        "alerts", queryset=Alert.objects.filter(status=AlertStatus.OPEN), to_attr="open_list"
    )
    newest_first = Prefetch("episodes", queryset=Episode.objects.order_by(*Episode.NEWEST_FIRST))
    qs = clients.select_related("counselor").prefetch_related(
        open_alerts, newest_first, "episodes__sessions__administrations"
    )
    rows = []
    for client in qs:
        # the current episode only: session numbers restart with each episode
        episodes = client.episodes.all()
        sessions = list(episodes[0].sessions.all()) if episodes else []
        latest: dict[str, Administration] = {}
        for s in sorted(sessions, key=lambda s: s.number):
            for a in s.administrations.all():
                if a.status == AdministrationStatus.COMPLETED:
                    latest[a.instrument] = a
        alerts = client.open_list
        rows.append(
            CaseloadRow(
                client=client,
                risk=any(a.severity == Severity.SAFETY for a in alerts),
                open_alerts=len(alerts),
                overdue=overdue_count(sessions),
                sessions=len(sessions),
                latest=latest,
            )
        )
    return sorted(rows, key=lambda r: r.sort_key)


@dataclass
class InstrumentHistory:
    instrument: Instrument
    administrations: list[Administration]
    chart: str

    @property
    def recent(self) -> list[Administration]:
        return self.administrations[-8:]

    def item_rows(self) -> list[tuple[str, list[Any]]]:
        """Item text and the answer at each recent session (item-level view)."""
        return [
            (item.text or item.id, [a.answers.get(item.id) for a in self.recent])
            for item in self.instrument.items
        ]


def histories(episode: Episode) -> list[InstrumentHistory]:
    """Per instrument: the episode's completed administrations in session order, and its chart."""
    done = (
        Administration.objects.filter(
            session__episode=episode, status=AdministrationStatus.COMPLETED
        )
        .select_related("session")
        .order_by("session__number")
    )
    by_instrument: dict[str, list[Administration]] = defaultdict(list)
    for a in done:
        by_instrument[a.instrument].append(a)
    reg = registry()
    out = []
    for instrument_id, items in by_instrument.items():
        instrument = reg.get(instrument_id)
        points = [(a.session.number, a.total) for a in items if a.total is not None]
        chart_id = f"chart-{instrument_id}"
        if instrument.alliance is not None:
            svg = charts.alliance_chart(chart_id, instrument, points)
        else:
            svg = charts.trajectory_chart(chart_id, instrument, points)
        out.append(InstrumentHistory(instrument, items, svg))
    order = {"outcome": 0, "alliance": 1}
    return sorted(
        out, key=lambda h: (order.get(h.instrument.kind, 2), min(a.pk for a in h.administrations))
    )


def alerts_for_page(client: Client) -> list[Alert]:
    """Open alerts first, the most severe on top; then the history, newest first."""
    alerts = list(
        client.alerts.select_related("acknowledged_by", "episode").order_by("-raised_at", "-id")
    )
    return sorted(
        alerts,
        key=lambda a: (a.status != AlertStatus.OPEN, SEVERITY_RANK.get(a.severity, 9)),
    )


@dataclass
class CounselorRow:
    counselor: User
    caseload: int
    due: int
    completed: int
    open_alerts: int

    @property
    def completion(self) -> int | None:
        return round(100 * self.completed / self.due) if self.due else None


def team_rows(counselors: QuerySet[Any]) -> list[CounselorRow]:
    """Caseload size, measure completion and open alerts per counselor."""
    rows = []
    for counselor in counselors.annotate(
        n_clients=Count("clients", filter=Q(clients__active=True), distinct=True),
        n_alerts=Count(
            "clients__alerts", filter=Q(clients__alerts__status=AlertStatus.OPEN), distinct=True
        ),
    ):
        sessions = list(
            Session.objects.filter(episode__client__counselor=counselor).prefetch_related(
                "administrations"
            )
        )
        due = _due_sessions(sessions)
        completed = len(due) - overdue_count(sessions)
        rows.append(
            CounselorRow(counselor, counselor.n_clients, len(due), completed, counselor.n_alerts)
        )
    return rows
