"""Create, look up and complete feedback links.

Single use is enforced by locking the link row inside the submitting transaction, so a double
submit (two taps, two tabs, a replayed POST) records the answers exactly once. Answers between
pages are the submitting browser's own (``feedback.drafts``), so what is recorded is exactly what
that browser answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib import import_module
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument
from alliance.core.scoring import Answer, normalise_answers
from alliance.web.accounts.models import Throttle, User
from alliance.web.alerts.services import raise_risk_alerts
from alliance.web.alerts.tasks import request_refresh
from alliance.web.clinic.models import AdministrationStatus, Client, Episode, Session
from alliance.web.clinic.services import (
    SATISFACTION,
    instruments_for_session,
    record_session_answers,
    registry,
    request_administrations,
)
from alliance.web.feedback.drafts import Draft
from alliance.web.feedback.models import FeedbackLink, hash_token, new_token


class NothingToAskError(Exception):
    """The session has no administrable instrument left to ask."""


class LinkGoneError(Exception):
    """The link was used or expired while the client was answering."""


def create_link(session: Session, user: User, channel: str = "link") -> tuple[FeedbackLink, str]:
    """A new link for ``session``; returns the row and the raw token (shown once, never stored)."""
    instruments = instruments_for_session(session)
    if not instruments:
        raise NothingToAskError("every measure for this session is already complete")
    return _new_link(session, user, instruments, channel)


def create_ending_link(episode: Episode, user: User) -> tuple[FeedbackLink, str]:
    """The end-of-treatment link of a closed episode: only the satisfaction check, on its last
    session (the client's answers belong to the episode, not to a new session)."""
    session = episode.sessions.order_by("-number").first()
    if session is None:
        raise NothingToAskError("this episode has no sessions to attach the question to")
    instruments = [i for i in instruments_for_session(session) if i.id == SATISFACTION]
    if not instruments:
        raise NothingToAskError("the client has already answered the satisfaction check")
    return _new_link(session, user, instruments, "link")


def create_scheduled_link(
    session: Session, instruments: list[Instrument]
) -> tuple[FeedbackLink, str]:
    """A link for some of the session's due ``instruments``, made by the message scheduler
    (no staff member: ``created_by`` stays empty)."""
    if not instruments:
        raise NothingToAskError("nothing to ask at this occasion")
    return _new_link(session, None, instruments, "link")


def _new_link(
    session: Session, user: User | None, instruments: list[Instrument], channel: str
) -> tuple[FeedbackLink, str]:
    token = new_token()
    purge_expired_browser_sessions()
    with transaction.atomic():
        link = FeedbackLink.objects.create(
            session=session,
            token_hash=hash_token(token),
            instruments=[i.id for i in instruments],
            channel=channel,
            created_by=user,
            expires_at=timezone.now() + timedelta(days=settings.ALLIANCE_LINK_DAYS),
        )
        request_administrations(session, instruments, channel, link.expires_at)
    return link, token


def purge_expired_browser_sessions() -> None:
    """Delete expired server-side sessions: an abandoned one may still hold a client's
    half-answered draft (health data). Done whenever a link is made, so no scheduler is needed."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()


AuditVerdict = Literal["audit", "summary", "quiet"]


def _budget(kind: str, ip: str | None) -> AuditVerdict:
    """Count one anonymous bad-link request of ``kind`` from ``ip`` in the current window.

    ``audit`` while the address is within ALLIANCE_LINK_MISSES; ``summary`` for the one request
    that goes over it (one audit row saying so); ``quiet`` after that (not audited). So an address
    adds at most limit + 1 audit rows of each kind per window, however hard it tries."""
    count = Throttle.hit(f"{kind}:{ip or 'unknown'}", settings.ALLIANCE_LINK_WINDOW_SECONDS)
    limit = int(settings.ALLIANCE_LINK_MISSES_PER_WINDOW)
    if count <= limit:
        return "audit"
    return "summary" if count == limit + 1 else "quiet"


def count_miss(ip: str | None) -> AuditVerdict:
    """An unknown token: ``audit`` means 404, anything else 429. Only misses count, so clients
    behind one clinic address are never blocked by real links."""
    return _budget("link-miss", ip)


def count_gone(ip: str | None) -> AuditVerdict:
    """A used or expired link opened again: always 410; only the audit rows are bounded."""
    return _budget("link-gone", ip)


def find_link(token: str) -> FeedbackLink | None:
    if not 20 <= len(token) <= 100:
        return None
    return (
        FeedbackLink.objects.select_related("session__episode__client")
        .filter(token_hash=hash_token(token))
        .first()
    )


def link_instruments(link: FeedbackLink) -> list[Instrument]:
    reg = registry()
    return [reg.administrable(i) for i in link.instruments]


def parse_answers(instrument: Instrument, post: Mapping[str, Any]) -> dict[str, Answer]:
    """Posted radio values for every item, checked by the core; every item must be answered."""
    raw: dict[str, Answer] = {}
    missing = []
    for item in instrument.items:
        value = post.get(item.id)
        if value in (None, ""):
            missing.append(item.id)
            continue
        try:
            number = float(str(value))
        except ValueError:
            raise InvalidAnswersError(f"answer for {item.id} is not a number") from None
        raw[item.id] = int(number) if number.is_integer() else number
    if missing:
        raise InvalidAnswersError("Please answer every question before going on.")
    return normalise_answers(instrument, raw)


def recorded_as_given(link: FeedbackLink, given: Draft) -> bool:
    """True when the session's completed record holds exactly the answers in ``given``: a browser
    that tapped Submit twice sees "already received", one whose answers lost sees that they were
    not saved."""
    stored = dict(
        link.session.administrations.filter(
            status=AdministrationStatus.COMPLETED, instrument__in=list(given)
        ).values_list("instrument", "answers")
    )
    return bool(given) and all(stored.get(key) == dict(value) for key, value in given.items())


def submit(
    link: FeedbackLink,
    draft: Draft,
    last: Instrument,
    answers: dict[str, Answer],
    finish: Callable[[], object] | None = None,
) -> int:
    """Record this browser's answers (its ``draft`` and the last page) once; returns how many
    instruments were recorded.

    Only what the client's "thank you" must wait for happens here: the answers, their scores and
    any risk alert. The episode's other alerts and the safety emails are queued
    (``alerts.tasks``) in the same transaction, and ``finish`` runs last in it (the audit
    event, the browser's session), so the submit commits once. Locks are taken link first, then the client."""
    with transaction.atomic():
        locked = (
            FeedbackLink.objects.select_for_update()
            .select_related("session__episode")
            .get(pk=link.pk)
        )
        if locked.used_at is not None or locked.expired:
            raise LinkGoneError(locked.state)
        given = {**draft, last.id: answers}
        instruments = link_instruments(locked)
        missing = [i.short_title for i in instruments if i.id not in given]
        if missing:
            raise InvalidAnswersError(f"Please answer {', '.join(missing)} first.")
        episode = locked.session.episode
        list(Client.objects.select_for_update().filter(pk=episode.client_id).values_list("pk"))
        answered = {i.id: given[i.id] for i in instruments}
        recorded = record_session_answers(locked.session, answered, locked.channel)
        locked.used_at = timezone.now()
        locked.save(update_fields=["used_at"])
        raise_risk_alerts(episode, recorded)
        request_refresh(episode)
        if finish is not None:
            finish()  # last: the audit chain's lock is held until this transaction commits
    return len(instruments)
