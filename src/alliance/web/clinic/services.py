"""Writes to the clinical record. Scoring goes through the core, nowhere else."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from alliance.core.instruments import Instrument
from alliance.core.registry import Registry
from alliance.core.scoring import Answer, normalise_answers, score, score_total
from alliance.web.accounts.models import Clinic, User
from alliance.web.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    ClinicInstrument,
    Ending,
    Episode,
    MeasurePlanItem,
    Session,
    SessionStatus,
    Timing,
)
from alliance.web.clinic.signals import episode_closed

#: The bundled end-of-treatment satisfaction measure every closed episode asks for.
SATISFACTION = "satisfaction_check"

DEFAULT_PLAN = (
    ("phq9", Timing.BEFORE_SESSION),
    ("gad7", Timing.BEFORE_SESSION),
    ("alliance_check", Timing.END_OF_SESSION),
)


def registry() -> Registry:
    return Registry()


def ensure_clinic_instruments(clinic: Clinic) -> None:
    """Give a clinic the default plan (PHQ-9, GAD-7 before, alliance check after) if it has none."""
    if clinic.instruments.exists():
        return
    for order, (instrument, timing) in enumerate(DEFAULT_PLAN):
        ClinicInstrument.objects.create(
            clinic=clinic, instrument=instrument, timing=timing, order=order
        )


@transaction.atomic
def create_client(
    clinic: Clinic,
    counselor: User,
    display_name: str,
    external_id: str = "",
    opened_on: datetime.date | None = None,
) -> Client:
    """A client with an open episode whose measure plan is the clinic's default."""
    ensure_clinic_instruments(clinic)
    client = Client.objects.create(
        clinic=clinic, counselor=counselor, display_name=display_name, external_id=external_id
    )
    _new_episode(client, opened_on)
    return client


def close_episode(episode: Episode, ending: str, on: datetime.date | None = None) -> bool:
    """Discharge: close an open episode (today unless ``on``), saying how it ended (an
    ``Ending``: unplanned endings are the outcomes page's dropouts); False if it was already
    closed. The end-of-treatment satisfaction check joins the episode's discharge measures."""
    if ending not in Ending.values:
        raise ValueError(f"unknown ending {ending!r}")
    updated = Episode.objects.filter(pk=episode.pk, closed_on__isnull=True).update(
        closed_on=on or timezone.localdate(), ending=ending
    )
    episode.refresh_from_db(fields=["closed_on", "ending"])
    if updated:
        MeasurePlanItem.objects.get_or_create(
            episode=episode,
            instrument=SATISFACTION,
            timing=Timing.DISCHARGE,
            defaults={"order": episode.plan.count()},
        )
    if updated:
        episode_closed.send(sender=Episode, clinic_id=episode.client.clinic_id)
    return updated == 1


class EpisodeRefused(Exception):
    """A new episode was refused: the current one is still open, or it would start earlier."""


@transaction.atomic
def open_episode(client: Client, opened_on: datetime.date | None = None) -> Episode:
    """A returning client's new episode of care, with the clinic's default measure plan.

    Session numbers, charts and alerts start afresh: outcomes are judged per episode."""
    current = Client.objects.select_for_update().get(pk=client.pk).current_episode()
    if current is not None and current.closed_on is None:
        raise EpisodeRefused("this client's current episode is still open; discharge it first")
    day = opened_on or timezone.localdate()
    if current is not None and day < current.opened_on:
        raise EpisodeRefused("a new episode cannot start before the client's latest one")
    ensure_clinic_instruments(client.clinic)
    return _new_episode(client, day)


def _new_episode(client: Client, opened_on: datetime.date | None) -> Episode:
    episode = Episode.objects.create(client=client, opened_on=opened_on or timezone.localdate())
    for item in client.clinic.instruments.filter(enabled=True):
        MeasurePlanItem.objects.create(
            episode=episode, instrument=item.instrument, timing=item.timing, order=item.order
        )
    return episode


def next_session(
    episode: Episode,
    date: datetime.date | None = None,
    status: str = "scheduled",
    starts_at: datetime.time | None = None,
    duration_minutes: int = 50,
) -> Session:
    """The episode's next numbered session (``starts_at``: local time of day, if known).

    The episode row is locked while the number is chosen, so concurrent requests for one client
    take turns and each gets the next number. (Retrying on the unique constraint cannot work: on
    PostgreSQL an IntegrityError aborts the surrounding transaction, and retries run out under
    load.) SQLite takes its write lock when the transaction starts, which serialises the same way.
    """
    with transaction.atomic():
        Episode.objects.select_for_update().only("pk").get(pk=episode.pk)
        number = (episode.sessions.aggregate(n=Max("number"))["n"] or 0) + 1
        return Session.objects.create(
            episode=episode,
            number=number,
            date=date or timezone.localdate(),
            status=status,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
        )


def past_session(episode: Episode, number: int, date: datetime.date) -> tuple[Session, bool]:
    """Session ``number`` of the episode as history from another system numbers it (attended on
    ``date``), and whether it was made now; an existing one is returned as it is."""
    with transaction.atomic():
        Episode.objects.select_for_update().only("pk").get(pk=episode.pk)
        return Session.objects.get_or_create(
            episode=episode,
            number=number,
            defaults={"date": date, "status": SessionStatus.ATTENDED},
        )


def follow_up_session(episode: Episode, date: datetime.date) -> Session:
    """The closed episode's one follow-up session (made on first use, numbered after the
    last): a row of its own, so its answers stay apart from the end-of-treatment scores."""
    with transaction.atomic():
        Episode.objects.select_for_update().only("pk").get(pk=episode.pk)
        found = episode.sessions.filter(follow_up=True).first()
        if found is not None:
            return found
        number = (episode.sessions.aggregate(n=Max("number"))["n"] or 0) + 1
        return Session.objects.create(episode=episode, number=number, date=date, follow_up=True)


def follow_up_instruments(episode: Episode) -> list[Instrument]:
    """The plan's outcome measures given through treatment or at discharge: the ones whose
    change a follow-up asks about (not alliance, satisfaction or intake-only measures)."""
    timings = {Timing.BEFORE_SESSION, Timing.END_OF_SESSION, Timing.DISCHARGE}
    reg = registry()
    chosen: list[Instrument] = []
    for item in episode.plan.all():
        instrument = reg.get(item.instrument)
        wanted = item.timing in timings and instrument.kind == "outcome" and instrument.has_text
        if wanted and instrument not in chosen:
            chosen.append(instrument)
    return chosen


def _answered(session: Session) -> set[str]:
    done = session.administrations.filter(status=AdministrationStatus.COMPLETED)
    return set(done.values_list("instrument", flat=True))


def instruments_for_session(session: Session) -> list[Instrument]:
    """The plan's administrable instruments due at this session and not yet completed (at a
    follow-up: the outcome measures only)."""
    if session.follow_up:
        done = _answered(session)
        return [i for i in follow_up_instruments(session.episode) if i.id not in done]
    due = {Timing.BEFORE_SESSION, Timing.END_OF_SESSION}
    if session.number == 1:
        due.add(Timing.INTAKE)
    if session.episode.closed_on is not None:
        due.add(Timing.DISCHARGE)
    done = _answered(session)
    chosen: list[Instrument] = []
    reg = registry()
    for item in session.episode.plan.all():
        if item.timing in due and item.instrument not in done:
            instrument = reg.get(item.instrument)
            if instrument.has_text and instrument not in chosen:
                chosen.append(instrument)
    return chosen


def record_administration(
    session: Session,
    instrument: Instrument,
    answers: Mapping[str, Answer],
    channel: str,
    when: datetime.datetime | None = None,
) -> Administration:
    """Score ``answers`` with the core and store them as completed: the pending administration
    a link created for this session and instrument becomes completed, else a new row is made."""
    values = _completed(instrument, answers, channel, when)
    pending = (
        session.administrations.filter(
            instrument=instrument.id,
            status__in=[AdministrationStatus.PENDING, AdministrationStatus.EXPIRED],
        )
        .order_by("-created_at")
        .first()
    )
    if pending is None:
        return Administration.objects.create(session=session, instrument=instrument.id, **values)
    for name, value in values.items():
        setattr(pending, name, value)
    pending.save()
    return pending


def record_session_answers(
    session: Session, given: Mapping[str, Mapping[str, Answer]], channel: str
) -> list[Administration]:
    """Record each instrument's answers in ``given`` for ``session`` (as
    ``record_administration``), reading the session's administrations once; an instrument
    already completed there is left as it is (another link got there first). Returns the
    administrations recorded now."""
    rows = list(session.administrations.order_by("-created_at"))
    done = {a.instrument for a in rows if a.status == AdministrationStatus.COMPLETED}
    waiting = {
        a.instrument: a
        for a in reversed(rows)  # the newest pending row of each instrument wins
        if a.status in (AdministrationStatus.PENDING, AdministrationStatus.EXPIRED)
    }
    recorded = []
    for instrument_id, answers in given.items():
        if instrument_id in done:
            continue
        instrument = registry().get(instrument_id)
        values = _completed(instrument, answers, channel, None)
        pending = waiting.get(instrument_id)
        if pending is None:
            recorded.append(
                Administration.objects.create(session=session, instrument=instrument_id, **values)
            )
            continue
        for name, value in values.items():
            setattr(pending, name, value)
        pending.save(update_fields=list(values))
        recorded.append(pending)
    return recorded


def _completed(
    instrument: Instrument,
    answers: Mapping[str, Answer],
    channel: str,
    when: datetime.datetime | None,
) -> dict[str, Any]:
    """A completed administration's fields, scored by the core."""
    keyed = normalise_answers(instrument, answers)
    result = score(instrument, keyed)
    return {
        "channel": channel,
        "status": AdministrationStatus.COMPLETED,
        "answers": dict(keyed),
        "score": result.to_dict(),
        "total": result.total,
        "completed_at": when or timezone.now(),
    }


def record_total(
    session: Session, instrument: Instrument, total: float, channel: str, when: datetime.datetime
) -> Administration:
    """A completed administration known only by its total (history from another system):
    scored by the core from the total, with no answers."""
    result = score_total(instrument, total)
    return Administration.objects.create(
        session=session,
        instrument=instrument.id,
        channel=channel,
        status=AdministrationStatus.COMPLETED,
        answers={},
        score=result.to_dict(),
        total=result.total,
        completed_at=when,
    )


def scored_administration(
    session: Session,
    instrument: Instrument,
    answers: Mapping[str, Answer],
    channel: str,
    when: datetime.datetime | None = None,
) -> Administration:
    """An unsaved completed administration scored by the core, for bulk imports of a session
    that has no pending request (the demo's large clinics); save them with ``bulk_create``."""
    return Administration(
        session=session, instrument=instrument.id, **_completed(instrument, answers, channel, when)
    )


def request_administrations(
    session: Session, instruments: list[Instrument], channel: str, due_by: datetime.datetime
) -> None:
    """A pending administration for each instrument a new link asks (reusing an open or expired
    request for the same session and instrument, so re-sent links never multiply rows).

    The session row is locked so that links created at the same moment take turns (the
    ``one_waiting_per_session_instrument`` constraint is the backstop), and a request is only
    reopened while it is still waiting, never after a concurrent submit completed it."""
    waiting = [AdministrationStatus.PENDING, AdministrationStatus.EXPIRED]
    with transaction.atomic():
        Session.objects.select_for_update().only("pk").get(pk=session.pk)
        for instrument in instruments:
            rows = session.administrations.filter(instrument=instrument.id, status__in=waiting)
            row = rows.first()
            if row is None:
                Administration.objects.create(
                    session=session, instrument=instrument.id, channel=channel, due_by=due_by
                )
                continue
            rows.filter(pk=row.pk).update(
                status=AdministrationStatus.PENDING,
                channel=channel,
                due_by=max(row.due_by or due_by, due_by),
            )


def expire_overdue() -> int:
    """Mark pending administrations whose links have all expired; returns how many.

    Pages call this on every view, so it first reads (through the ``status, due_by`` index)
    whether anything is overdue and writes only then: a read page takes no write lock (on
    SQLite a lock on the whole database) unless a link has just run out."""
    overdue = Administration.objects.filter(
        status=AdministrationStatus.PENDING, due_by__lt=timezone.now()
    )
    if not overdue.exists():
        return 0
    return int(overdue.update(status=AdministrationStatus.EXPIRED))


class PlanRefused(Exception):
    """A change to the clinic's default measure plan that the model does not allow."""


def add_clinic_instrument(clinic: Clinic, instrument: str, timing: str) -> ClinicInstrument:
    """Add an instrument at a timing to the clinic's default plan (new episodes get it)."""
    ensure_clinic_instruments(clinic)
    if clinic.instruments.filter(instrument=instrument, timing=timing).exists():
        raise PlanRefused("That instrument is already in the plan at that time.")
    last = clinic.instruments.aggregate(n=Max("order"))["n"]
    try:
        with transaction.atomic():
            return ClinicInstrument.objects.create(
                clinic=clinic, instrument=instrument, timing=timing, order=(last or 0) + 1
            )
    except IntegrityError:
        raise PlanRefused("That instrument is already in the plan at that time.") from None


def update_clinic_instrument(item: ClinicInstrument, enabled: bool, order: int) -> None:
    """Switch an instrument of the default plan on or off, or move it; open episodes keep
    their own plans."""
    item.enabled, item.order = enabled, order
    item.save(update_fields=["enabled", "order"])
