"""Read-side helpers for the dashboard: caseload rows, chart data, supervisor numbers.

Nothing here decides what is clinically worrying: risk and alerts come from Alert rows (raised
by the core), severity labels from stored core scores, cutoffs from the instrument.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
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
from alliance.web.dashboard.names import matches, plain_name
from alliance.web.dashboard.worklist import Followup, followups


@dataclass(frozen=True)
class LatestScore:
    """A client's latest completed total of one instrument and its severity label (the
    answers are never loaded for the caseload)."""

    total: float | None
    severity_label: str


@dataclass
class CaseloadRow:
    client: Client
    risk: bool
    open_alerts: int
    overdue: int
    sessions: int
    latest: dict[str, LatestScore] = field(default_factory=dict)
    followup: Followup | None = None

    @property
    def summary(self) -> list[tuple[str, Any, str]]:
        """Latest total and severity label per instrument, for the caseload table."""
        reg = registry()
        return [
            (reg.get(i).short_title, a.total, a.severity_label)
            for i, a in sorted(self.latest.items())
        ]


def _due_sessions(sessions: list[Session]) -> list[Session]:
    today = timezone.localdate()
    return [
        s
        for s in sessions
        if not s.follow_up
        and (
            s.status == SessionStatus.ATTENDED
            or (s.status == SessionStatus.SCHEDULED and s.date <= today)
        )
    ]


def overdue_count(sessions: list[Session]) -> int:
    """Sessions that happened (or were due) but have no completed measure."""
    return sum(
        1
        for s in _due_sessions(sessions)
        if not any(a.status == AdministrationStatus.COMPLETED for a in s.administrations.all())
    )


def _due() -> Q:
    """Sessions that happened, or were due by today (a follow-up after discharge is not a
    session of treatment: unanswered, it is not overdue)."""
    happened = Q(status=SessionStatus.ATTENDED) | Q(
        status=SessionStatus.SCHEDULED, date__lte=timezone.localdate()
    )
    return happened & Q(follow_up=False)


def _measured() -> Exists:
    """The session (``OuterRef("pk")``) has a completed administration."""
    return Exists(
        Administration.objects.filter(session=OuterRef("pk"), status=AdministrationStatus.COMPLETED)
    )


def _count(qs: QuerySet[Any], key: str) -> Coalesce:
    """``SELECT COUNT(*)`` of ``qs`` grouped by its correlated column ``key``, as a subquery."""
    counted = qs.order_by().values(key).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class CaseloadEntry:
    """One client's sort key: enough to order and search a caseload of thousands without
    loading their sessions (the name is decrypted here, see ``names.plain_name``)."""

    pk: int
    name: str
    risk: bool
    open_alerts: int
    overdue: int
    episode_id: int | None
    active: bool = True

    @property
    def sort_key(self) -> tuple[int, int, int, int, str, int]:
        """Risk, open alerts, sessions without measures; then current before past clients."""
        return (
            0 if self.risk else 1,
            -self.open_alerts,
            -self.overdue,
            0 if self.active else 1,
            self.name,
            self.pk,
        )


def caseload_entries(clients: QuerySet[Client], search: str = "") -> list[CaseloadEntry]:
    """Every client of ``clients`` (matching ``search``), most in need of attention first.

    Four single-pass aggregate queries, whatever the caseload's size: the clients, their
    current episodes, open alerts per client and sessions without measures per episode; no
    sessions, administrations or answers are loaded."""
    tokens = clients.annotate(token=Cast("display_name", TextField())).order_by()
    names, active = {}, set()
    for pk, token, is_active in tokens.values_list("pk", "token", "active"):
        names[pk] = plain_name(token)
        if is_active:
            active.add(pk)
    if search:
        names = {pk: name for pk, name in names.items() if matches(name, search)}
    shown = clients.filter(pk__in=list(names)) if search else clients
    current: dict[int, int] = {}
    episodes = Episode.objects.filter(client__in=shown).order_by("opened_on", "id")
    for client_id, episode_id in episodes.values_list("client_id", "pk"):
        current[client_id] = episode_id  # the newest comes last
    alerts = {
        row["client"]: row
        for row in Alert.objects.filter(client__in=shown, status=AlertStatus.OPEN)
        .order_by()
        .values("client")
        .annotate(n=Count("pk"), safety=Count("pk", filter=Q(severity=Severity.SAFETY)))
    }
    overdue = dict(
        Session.objects.filter(_due(), episode__client__in=shown)
        .exclude(_measured())
        .order_by()
        .values("episode")
        .annotate(n=Count("pk"))
        .values_list("episode", "n")
    )
    entries = []
    for pk, name in names.items():
        episode = current.get(pk)
        alert = alerts.get(pk, {})
        entries.append(
            CaseloadEntry(
                pk,
                name,
                bool(alert.get("safety")),
                alert.get("n", 0),
                overdue.get(episode, 0) if episode else 0,
                episode,
                pk in active,
            )
        )
    return sorted(entries, key=lambda e: e.sort_key)


def caseload_rows(entries: list[CaseloadEntry]) -> list[CaseloadRow]:
    """The shown entries as table rows, in a fixed number of queries: the clients with their
    counselors, session counts, latest scores of the current episodes, and for current clients
    the latest session's follow-up (worklist)."""
    episodes = [e.episode_id for e in entries if e.episode_id is not None]
    clients = Client.objects.select_related("counselor").in_bulk([e.pk for e in entries])
    sessions = dict(
        Session.objects.filter(episode_id__in=episodes, follow_up=False)
        .order_by()
        .values("episode_id")
        .annotate(n=Count("*"))
        .values_list("episode_id", "n")
    )
    latest: dict[int, dict[str, LatestScore]] = defaultdict(dict)
    completed = (
        Administration.objects.filter(
            session__episode_id__in=episodes, status=AdministrationStatus.COMPLETED
        )
        .order_by("session__number")
        .values_list("session__episode_id", "instrument", "total", KT("score__severity_label"))
    )
    for episode, instrument, total, label in completed:
        latest[episode][instrument] = LatestScore(total, label or "")
    found = followups([e.episode_id for e in entries if e.episode_id and e.active])
    return [
        CaseloadRow(
            client=clients[e.pk],
            risk=e.risk,
            open_alerts=e.open_alerts,
            overdue=e.overdue,
            sessions=sessions.get(e.episode_id, 0) if e.episode_id else 0,
            latest=latest.get(e.episode_id, {}) if e.episode_id else {},
            followup=found.get(e.episode_id) if e.episode_id else None,
        )
        for e in entries
    ]


def caseload(clients: QuerySet[Client]) -> list[CaseloadRow]:
    """One row per client (their current episode), most in need of attention first."""
    return caseload_rows(caseload_entries(clients))


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


def measures_of_sessions() -> Prefetch[Any]:
    """Each session's administrations for the sessions table (one query, answers left out)."""
    return Prefetch("administrations", queryset=Administration.objects.defer("answers"))


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


def _per_counselor(qs: QuerySet[Any], key: str, **counts: Count) -> dict[int, dict[str, int]]:
    """``counts`` of ``qs`` grouped by the counselor at ``key``: one aggregate query."""
    grouped = qs.order_by().values(key).annotate(**counts)
    return {row[key]: row for row in grouped}


def team_rows(counselors: QuerySet[Any]) -> list[CounselorRow]:
    """Caseload size, measure completion and open alerts per counselor: a fixed number of
    aggregate queries (grouped by counselor) for the whole team."""
    team = list(counselors)
    sessions = _per_counselor(
        Session.objects.filter(_due(), episode__client__counselor__in=team).alias(
            measured=_measured()
        ),
        "episode__client__counselor",
        due=Count("pk"),
        done=Count("pk", filter=Q(measured=True)),
    )
    clients = _per_counselor(
        Client.objects.filter(counselor__in=team, active=True), "counselor", n=Count("pk")
    )
    alerts = _per_counselor(
        Alert.objects.filter(client__counselor__in=team, status=AlertStatus.OPEN),
        "client__counselor",
        n=Count("pk"),
    )
    rows = []
    for c in team:
        done = sessions.get(c.pk, {})
        n_clients, n_alerts = clients.get(c.pk, {}).get("n", 0), alerts.get(c.pk, {}).get("n", 0)
        rows.append(CounselorRow(c, n_clients, done.get("due", 0), done.get("done", 0), n_alerts))
    return rows
