"""The measures worklist: for each client's latest session, whether its questions are due,
sent and unanswered, overdue, failed or unsubscribed; the "due today" list; invitation
completion per counselor.

Message statuses are read from ``messaging.models.MessageStatus`` (the one list): a status this
module does not name (one a later version adds) still shows, by its label, as needing a look.
Every function here runs a fixed number of queries for the ids it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from alliance.web.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    Episode,
    Session,
    SessionStatus,
)
from alliance.web.feedback.models import FeedbackLink
from alliance.web.messaging.models import (
    Contact,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
)

#: Sessions whose questions may be asked: planned or held (not cancelled, not a no-show).
ASKED = (SessionStatus.SCHEDULED, SessionStatus.ATTENDED)
#: Message statuses still on their way out.
UNDER_WAY = (MessageStatus.QUEUED, MessageStatus.SENDING)
#: The periods the team page offers for invitation completion, in days.
PERIODS = (7, 30, 90)


class State(StrEnum):
    """Where a session's questions stand, most in need of the counselor first."""

    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"
    CHECK = "check"  # a message status this module does not know
    OVERDUE = "overdue"
    DUE = "due"
    SENT = "sent"
    QUEUED = "queued"
    LINK = "link"
    ANSWERED = "answered"


LABELS = {
    State.UNSUBSCRIBED: "Unsubscribed",
    State.FAILED: "Sending failed",
    State.CHECK: "Check the message",
    State.OVERDUE: "Overdue",
    State.DUE: "Due today",
    State.SENT: "Sent, unanswered",
    State.QUEUED: "Being sent",
    State.LINK: "Link given, unanswered",
    State.ANSWERED: "Answered",
}


@dataclass(frozen=True)
class Followup:
    """One session's questions: its state, and the latest message about them, if any."""

    session_id: int
    number: int
    date: date
    state: State
    message_status: str = ""  # the status's label, from MessageStatus
    channel: str = ""
    at: datetime | None = None
    error: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def needs_action(self) -> bool:
        return self.state not in (State.ANSWERED, State.QUEUED)


def latest_sessions(episode_ids: list[int], today: date) -> QuerySet[Session]:
    """Per episode, its latest session up to ``today`` that questions may be asked at (one
    query; ``measured`` says whether it has a completed measure)."""
    later = Session.objects.filter(
        episode=OuterRef("episode"),
        number__gt=OuterRef("number"),
        date__lte=today,
        status__in=ASKED,
    )
    measured = Administration.objects.filter(
        session=OuterRef("pk"), status=AdministrationStatus.COMPLETED
    )
    return (
        Session.objects.filter(episode_id__in=episode_ids, date__lte=today, status__in=ASKED)
        .exclude(Exists(later))
        .annotate(measured=Exists(measured))
        .order_by()
    )


def followups(episode_ids: list[int]) -> dict[int, Followup]:
    """The latest session's follow-up per episode of ``episode_ids``, in four queries."""
    today = timezone.localdate()
    sessions = list(
        latest_sessions(episode_ids, today).values(
            "pk", "episode_id", "episode__client_id", "number", "date", "status", "measured"
        )
    )
    ids = [s["pk"] for s in sessions]
    messages: dict[int, dict[str, Any]] = {}
    # A message not needed after all, or a reminder waiting for its hour, says nothing about
    # where the questions stand now (an invitation waiting to be retried does: it shows as on
    # its way, with the error that held it back).
    rows = (
        Message.objects.filter(link__session_id__in=ids)
        .exclude(status=MessageStatus.NOT_NEEDED)
        .exclude(
            status=MessageStatus.QUEUED,
            kind=MessageKind.REMINDER,
            send_after__gt=timezone.now(),
        )
        .order_by("created_at", "pk")
    )
    for m in rows.values(
        "link__session_id", "status", "channel", "error", "created_at", "finished_at",
        "link__used_at", "link__expires_at",
    ):  # fmt: skip
        messages[m["link__session_id"]] = m  # the newest comes last
    open_links = set(
        FeedbackLink.objects.filter(
            session_id__in=ids, used_at__isnull=True, expires_at__gt=timezone.now()
        ).values_list("session_id", flat=True)
    )
    clients = [s["episode__client_id"] for s in sessions]
    unsubscribed = set(
        Contact.objects.filter(client_id__in=clients, unsubscribed_at__isnull=False).values_list(
            "client_id", flat=True
        )
    )
    return {
        s["episode_id"]: _followup(
            s, messages.get(s["pk"]), s["pk"] in open_links, s["episode__client_id"] in unsubscribed
        )
        for s in sessions
    }


def _followup(
    session: dict[str, Any], message: dict[str, Any] | None, open_link: bool, unsubscribed: bool
) -> Followup:
    base = {"session_id": session["pk"], "number": session["number"], "date": session["date"]}
    if session["measured"]:
        return Followup(**base, state=State.ANSWERED)
    if unsubscribed:
        return Followup(**base, state=State.UNSUBSCRIBED)
    if message is None:
        if open_link:
            return Followup(**base, state=State.LINK)
        return Followup(**base, state=_unsent(session))
    state = _message_state(message)
    if state is State.SENT and message["link__expires_at"] <= timezone.now():
        state = State.OVERDUE  # the link expired unanswered
    return Followup(
        **base,
        state=state,
        message_status=dict(MessageStatus.choices).get(message["status"], message["status"]),
        channel=message["channel"],
        at=message["finished_at"] or message["created_at"],
        error=message["error"],
    )


def _unsent(session: dict[str, Any]) -> State:
    """Nothing sent nor given: due on the session's day, overdue after it (or once held)."""
    planned_today = session["status"] == SessionStatus.SCHEDULED
    return State.DUE if planned_today and session["date"] >= timezone.localdate() else State.OVERDUE


def _message_state(message: dict[str, Any]) -> State:
    status = message["status"]
    if status == MessageStatus.SENT:
        return State.SENT
    if status == MessageStatus.FAILED:
        return State.FAILED
    return State.QUEUED if status in UNDER_WAY else State.CHECK


@dataclass(frozen=True)
class WorkItem:
    """A row of the "due today" list: the client, their session's follow-up, and the channels
    the client may be sent a link by now."""

    client: Client
    followup: Followup
    channels: list[tuple[str, str]]


def current_episodes(clients: QuerySet[Client]) -> dict[int, int]:
    """Open current episode per active client of ``clients`` (one query)."""
    current: dict[int, int] = {}
    episodes = Episode.objects.filter(client__in=clients.filter(active=True)).order_by(
        "opened_on", "id"
    )
    for client_id, episode_id, closed in episodes.values_list("client_id", "pk", "closed_on"):
        if closed is None:
            current[client_id] = episode_id  # the newest comes last
        else:
            current.pop(client_id, None)
    return current


def pending_sessions(clients: QuerySet[Client]) -> list[tuple[int, int]]:
    """(client, episode) of every current episode whose latest session up to today has no
    completed measure, by counselor, the oldest session first (two queries, whatever the
    clinic's size)."""
    episodes = current_episodes(clients)
    latest = latest_sessions(list(episodes.values()), timezone.localdate()).filter(measured=False)
    rows = latest.order_by("episode__client__counselor__username", "date", "pk")
    return [
        (client_id, episode_id)
        for episode_id, client_id in rows.values_list("episode_id", "episode__client_id")
    ]


def work_items(page: list[tuple[int, int]]) -> list[WorkItem]:
    """The page's (client, episode) pairs as rows: clients with counselors, follow-ups and
    contacts in a fixed number of queries."""
    clients = Client.objects.select_related("counselor").in_bulk([c for c, _ in page])
    found = followups([e for _, e in page])
    contacts = {c.client_id: c for c in Contact.objects.filter(client_id__in=list(clients))}
    items = []
    for client_id, episode_id in page:
        contact = contacts.get(client_id)
        channels = [
            (v, label) for v, label in MessageChannel.choices if contact and contact.consents_to(v)
        ]
        items.append(WorkItem(clients[client_id], found[episode_id], channels))
    return items


@dataclass(frozen=True)
class Completion:
    """Invitations of one counselor's clients over a period: links sent (by any channel),
    of those answered, failed messages, clients who unsubscribed."""

    counselor: Any
    sent: int
    answered: int
    failed: int
    unsubscribed: int

    @property
    def rate(self) -> int | None:
        return round(100 * self.answered / self.sent) if self.sent else None


def completion(team: list[Any], days: int) -> list[Completion]:
    """Per counselor of ``team``, invitations since ``days`` ago: two aggregate queries."""
    since = timezone.now() - timedelta(days=days)
    sent = Q(status=MessageStatus.SENT)
    messages = {
        row["client__counselor"]: row
        for row in Message.objects.filter(
            client__counselor__in=team, kind=MessageKind.INVITATION, created_at__gte=since
        )
        .order_by()
        .values("client__counselor")
        .annotate(
            sent=Count("link", distinct=True, filter=sent),
            answered=Count("link", distinct=True, filter=sent & Q(link__used_at__isnull=False)),
            failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
        )
    }
    left = dict(
        Contact.objects.filter(client__counselor__in=team, unsubscribed_at__gte=since)
        .order_by()
        .values("client__counselor")
        .annotate(n=Count("pk"))
        .values_list("client__counselor", "n")
    )
    rows = []
    for counselor in team:
        m = messages.get(counselor.pk, {})
        rows.append(
            Completion(
                counselor,
                m.get("sent", 0),
                m.get("answered", 0),
                m.get("failed", 0),
                left.get(counselor.pk, 0),
            )
        )
    return rows
