"""The measure plan's schedule: which invitations are due, written once as queued messages.

Why rows first: a due invitation becomes a ``Message`` (with its link and queue entry, in one
transaction) whose unique (session, occasion, kind, channel) constraint lets only one scheduler
write it, however many run; the send itself waits for its time on the queue (``run_after``) and
is claimed once (``services.claim``). Rows are written without a queue entry:
``tasks.dispatch`` queues every message whose time is near, so a lost entry is found the same way. An occasion missed by more than :data:`LATE_LIMIT` (the
scheduler was off) is not sent late: questions about a session long past help nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from alliance.core.instruments import Instrument
from alliance.web.audit.log import record
from alliance.web.clinic.models import Episode, Session, SessionStatus, Timing
from alliance.web.clinic.services import (
    SATISFACTION,
    follow_up_instruments,
    follow_up_session,
    instruments_for_session,
)
from alliance.web.feedback.services import create_scheduled_link
from alliance.web.messaging.models import (
    ClinicMessaging,
    Contact,
    Message,
    MessageChannel,
    MessageKind,
    Occasion,
)

#: How late a missed occasion may still be sent.
LATE_LIMIT = dt.timedelta(hours=24)
#: The most ``hours_before`` a clinic may set (the scheduler looks this far ahead).
MAX_HOURS_BEFORE = 168
#: The most ``follow_up_weeks`` a clinic may set (a year after discharge).
MAX_FOLLOW_UP_WEEKS = 52
#: The follow-up goes at this hour of its day (local time), not at midnight.
FOLLOW_UP_AT = dt.time(10, 0)
_SKIP = (SessionStatus.CANCELLED, SessionStatus.NO_SHOW)


@dataclass(frozen=True)
class Due:
    """One occasion's invitation: for which session, what to ask, and when to send it."""

    session: Session
    occasion: str
    instruments: list[Instrument]
    at: dt.datetime


def prefs_for(clinic_id: int) -> ClinicMessaging:
    """The clinic's settings, or the defaults for a clinic that never saved any."""
    prefs = ClinicMessaging.objects.filter(clinic_id=clinic_id).first()
    return prefs or ClinicMessaging(clinic_id=clinic_id)


def session_start(session: Session) -> dt.datetime:
    """When the session starts, in the clinic's time zone (``TIME_ZONE``)."""
    assert session.starts_at is not None
    return timezone.make_aware(dt.datetime.combine(session.date, session.starts_at))


def asked_at(session: Session, timings: set[str]) -> list[Instrument]:
    """The session's still-unanswered instruments whose plan timing is one of ``timings``."""
    planned = {i.instrument for i in session.episode.plan.all() if i.timing in timings}
    return [i for i in instruments_for_session(session) if i.id in planned]


def due_now(now: dt.datetime, horizon: dt.timedelta) -> Iterator[Due]:
    """Occasions due before ``now + horizon``, not older than :data:`LATE_LIMIT`, not yet
    written, for clients who consented to a channel and have not unsubscribed."""
    prefs: dict[int, ClinicMessaging] = {}

    def clinic(clinic_id: int) -> ClinicMessaging:
        if clinic_id not in prefs:
            prefs[clinic_id] = prefs_for(clinic_id)
        return prefs[clinic_id]

    yield from _session_occasions(now, horizon, clinic)
    yield from _discharges(now, clinic)
    yield from _follow_ups(now, horizon)


def _reachable(client: str) -> Q:
    """Clients (through the ``client`` path) with a consent and no unsubscribe: the query
    narrows the candidates; the send service checks again at the last moment."""
    contact = f"{client}__contact"
    consent = Q(**{f"{contact}__email_consent": True}) | Q(**{f"{contact}__sms_consent": True})
    return consent & Q(**{f"{contact}__unsubscribed_at__isnull": True})


def _written(sessions: list[Session]) -> set[tuple[int, str]]:
    rows = Message.objects.filter(session__in=sessions).exclude(occasion="")
    return set(rows.values_list("session_id", "occasion"))


def _session_occasions(
    now: dt.datetime, horizon: dt.timedelta, clinic: Callable[[int], ClinicMessaging]
) -> Iterator[Due]:
    today = timezone.localdate(now)
    sessions = list(
        Session.objects.filter(
            _reachable("episode__client"),
            starts_at__isnull=False,
            date__range=(today - dt.timedelta(days=2), today + dt.timedelta(days=8)),
            episode__closed_on__isnull=True,
            episode__client__active=True,
        )
        .exclude(status__in=_SKIP)
        .select_related("episode__client")
    )
    written = _written(sessions)
    for session in sessions:
        prefs = clinic(session.episode.client.clinic_id)
        if not prefs.scheduled:
            continue
        start = session_start(session)
        before = start - dt.timedelta(hours=prefs.hours_before)
        occasion = str(Occasion.BEFORE_SESSION)
        if (
            session.status == SessionStatus.SCHEDULED
            and before <= now + horizon
            and now < start
            and (session.pk, occasion) not in written
        ):
            timings = {str(Timing.BEFORE_SESSION)} | (
                {str(Timing.INTAKE)} if session.number == 1 else set()
            )
            yield Due(session, occasion, asked_at(session, timings), before)
        end = start + dt.timedelta(minutes=session.duration_minutes)
        occasion = str(Occasion.END_OF_SESSION)
        if (
            prefs.at_session_end
            and now - LATE_LIMIT < end <= now + horizon
            and (session.pk, occasion) not in written
        ):
            yield Due(session, occasion, asked_at(session, {str(Timing.END_OF_SESSION)}), end)


def _discharges(now: dt.datetime, clinic: Callable[[int], ClinicMessaging]) -> Iterator[Due]:
    """Episodes closed today or yesterday: the end-of-treatment satisfaction check, on the
    last session (as the discharge page's own link)."""
    since = timezone.localdate(now) - dt.timedelta(days=1)
    episodes = Episode.objects.filter(_reachable("client"), closed_on__gte=since)
    for episode in episodes.select_related("client"):
        session = episode.sessions.order_by("-number").first()
        if session is None or not clinic(episode.client.clinic_id).at_discharge:
            continue
        if (session.pk, str(Occasion.DISCHARGE)) not in _written([session]):
            asked = [i for i in instruments_for_session(session) if i.id == SATISFACTION]
            yield Due(session, str(Occasion.DISCHARGE), asked, now)


def _follow_ups(now: dt.datetime, horizon: dt.timedelta) -> Iterator[Due]:
    """Episodes closed ``follow_up_weeks`` ago (clinics that set it): the outcome measures
    again, on the episode's follow-up session (made when first due, so a clinic that turns
    follow-ups on later adds no rows for episodes long past)."""
    for clinic_id, weeks in ClinicMessaging.objects.filter(follow_up_weeks__gt=0).values_list(
        "clinic_id", "follow_up_weeks"
    ):
        yield from _follow_ups_of(clinic_id, weeks, now, horizon)


def _follow_ups_of(
    clinic_id: int, weeks: int, now: dt.datetime, horizon: dt.timedelta
) -> Iterator[Due]:
    """One clinic's follow-ups due now: only the episodes closed ``weeks`` before the window
    (a day wider on each side for time zones) are read, however long the clinic's history."""
    lag = dt.timedelta(weeks=weeks)
    first = timezone.localdate(now - LATE_LIMIT) - lag - dt.timedelta(days=1)
    last = timezone.localdate(now + horizon) - lag + dt.timedelta(days=1)
    episodes = Episode.objects.filter(
        _reachable("client"),
        closed_on__range=(first, last),
        client__active=True,
        client__clinic_id=clinic_id,
    ).exclude(sessions__messages__occasion=Occasion.FOLLOW_UP)
    for episode in episodes.select_related("client"):
        assert episode.closed_on is not None
        day = episode.closed_on + dt.timedelta(weeks=weeks)
        at = timezone.make_aware(dt.datetime.combine(day, FOLLOW_UP_AT))
        if not now - LATE_LIMIT < at <= now + horizon:
            continue
        asked = follow_up_instruments(episode)
        if asked:
            yield Due(follow_up_session(episode, day), str(Occasion.FOLLOW_UP), asked, at)


def channels_for(contact: Contact | None) -> list[str]:
    if contact is None:
        return []
    return [c for c in MessageChannel.values if contact.consents_to(c)]


def write(due: Due, now: dt.datetime) -> list[Message]:
    """Make the link and one queued invitation per consented channel, queued for ``due.at``
    (all or nothing); none when already written (by this or another scheduler), when there
    is nothing to ask, or when the client cannot be contacted."""
    contact = Contact.objects.filter(client_id=due.session.episode.client_id).first()
    channels = channels_for(contact)
    if not channels or not due.instruments:
        return []
    if Message.objects.filter(session=due.session, occasion=due.occasion).exists():
        return []
    try:
        with transaction.atomic():
            link, token = create_scheduled_link(due.session, due.instruments)
            messages = [
                Message.objects.create(
                    client_id=due.session.episode.client_id,
                    link=link,
                    channel=channel,
                    kind=MessageKind.INVITATION,
                    token=token,
                    session=due.session,
                    occasion=due.occasion,
                    send_after=max(due.at, now),
                )
                for channel in channels
            ]
    except IntegrityError:  # another scheduler wrote it first: its rows stand, ours roll back
        return []
    clinic_id = due.session.episode.client.clinic_id
    for message in messages:  # as a counselor's send is (by the scheduler: no user)
        record(None, "message_queue", message, clinic_id=clinic_id)
    return messages


def run(now: dt.datetime | None = None, horizon: dt.timedelta | None = None) -> int:
    """One pass of the scheduler: write every due invitation; how many messages were queued."""
    now = now or timezone.now()
    horizon = horizon if horizon is not None else dt.timedelta(minutes=5)
    return sum(len(write(due, now)) for due in due_now(now, horizon))
