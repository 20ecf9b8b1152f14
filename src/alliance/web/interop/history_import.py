"""Bring a clinic's past scores (the ``alliance alerts scan`` CSV) into the web app.

Why: a clinic that starts with alliance has years of scores elsewhere; with them, its outcomes
page and the not-on-track reference start from its own history. The file is read by the core's
reader (``core.alerts.scores_csv``), so the import accepts exactly what ``alerts scan`` and
``outcomes`` accept, and every row is written through ``clinic.services``. Clients are matched
by external id within the clinic, episodes by their first date, sessions by number and
administrations by session and instrument, so a second run finds everything and writes nothing.
The whole import is one transaction: the first bad line refuses it, naming the line. Alerts come
from ``alerts.services.refresh_alerts`` for each episode that gained scores; the audit trail gets
one event per import with its counts (ids and counts only, never a client's identifiers).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from alliance.core.alerts.scores_csv import ParsedScores, ScoresFileError, parse_rows
from alliance.core.errors import InvalidAnswersError
from alliance.core.instruments import Instrument, bundled_instruments
from alliance.core.outcomes.files import parse_endings
from alliance.core.outcomes.report import EpisodeEnding
from alliance.web.accounts.models import Clinic, User
from alliance.web.alerts.models import Alert
from alliance.web.alerts.services import refresh_alerts
from alliance.web.audit.log import record
from alliance.web.clinic.access import can_change
from alliance.web.clinic.models import (
    Administration,
    AdministrationStatus,
    Channel,
    Client,
    Episode,
    Session,
)
from alliance.web.clinic.services import (
    EpisodeRefused,
    close_episode,
    create_client,
    open_episode,
    past_session,
    record_administration,
    record_total,
)

ACTION = "scores_import"
#: Imported scores are entered on the clinic's behalf, not answered through a link.
CHANNEL: str = Channel.STAFF  # type: ignore[assignment]
#: The time of day given to an imported score (the file has dates only), in the clinic's zone.
NOON = dt.time(12, 0)


class ImportRefused(Exception):
    """The import cannot go ahead; the message names the line (nothing was written)."""


@dataclass
class ImportCounts:
    """What an import did (or, in a dry run, would do)."""

    clients_created: int = 0
    clients_matched: int = 0
    episodes_created: int = 0
    episodes_closed: int = 0
    sessions_created: int = 0
    administrations_created: int = 0
    administrations_unchanged: int = 0
    alerts_raised: int = 0

    def audit_summary(self) -> str:
        """Counts short enough for the audit event's object id (40 characters)."""
        return (
            f"c{self.clients_created} e{self.episodes_created} s{self.sessions_created} "
            f"a{self.administrations_created} al{self.alerts_raised}"
        )[:40]


@dataclass
class _Row:
    line: int
    session: int
    date: dt.date
    instrument: str
    total: float
    items: list[float]


@dataclass
class _EpisodeRows:
    client_id: str
    label: str
    rows: list[_Row] = field(default_factory=list)

    @property
    def opened_on(self) -> dt.date:
        return min(r.date for r in self.rows)

    @property
    def last_date(self) -> dt.date:
        return max(r.date for r in self.rows)

    @property
    def first_line(self) -> int:
        return min(r.line for r in self.rows)


class _DryRun(Exception):
    """Raised at the end of a dry run to roll everything back."""


def import_scores(
    text: str,
    clinic_ref: str,
    counselor_username: str,
    *,
    endings_text: str | None = None,
    dry_run: bool = False,
    origin: str = "scores",
) -> ImportCounts:
    """Import ``text`` (a scores CSV) into the clinic for the counselor; with ``endings_text``
    (an episodes CSV) the episodes it lists are closed. Raises ImportRefused naming the line."""
    clinic = find_clinic(clinic_ref)
    counselor = find_counselor(clinic, counselor_username)
    instruments = bundled_instruments()
    try:
        episodes = _episodes(parse_rows(text, instruments, origin), origin)
        endings = _endings(endings_text) if endings_text is not None else {}
    except ScoresFileError as exc:
        _refused(clinic)
        raise ImportRefused(str(exc)) from None
    counts = ImportCounts()
    try:
        with transaction.atomic():
            _write(clinic, counselor, episodes, endings, instruments, counts, origin)
            if dry_run:
                raise _DryRun
            record(None, ACTION, object_type=ACTION, object_id=counts.audit_summary(),
                   clinic_id=clinic.pk)  # fmt: skip
    except _DryRun:
        record(None, ACTION, object_type=ACTION, object_id=counts.audit_summary(),
               clinic_id=clinic.pk, outcome="dry_run")  # fmt: skip
    except ImportRefused:
        _refused(clinic)
        raise
    return counts


def _refused(clinic: Clinic) -> None:
    record(None, ACTION, object_type=ACTION, clinic_id=clinic.pk, outcome="refused")


def find_clinic(ref: str) -> Clinic:
    """The clinic by id or by its exact name."""
    text = ref.strip()
    by_id = text.isdigit() and len(text) < 19  # within a bigint
    found = list(Clinic.objects.filter(pk=int(text))) if by_id else []
    found = found or list(Clinic.objects.filter(name=text))
    if not found:
        raise ImportRefused(f"no clinic {ref!r} (give its id or exact name)")
    if len(found) > 1:
        raise ImportRefused(f"{len(found)} clinics are named {ref!r}; give its id")
    return found[0]


def find_counselor(clinic: Clinic, username: str) -> User:
    """An active counselor or supervisor of the clinic: the one the imported clients belong to."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or user.clinic_id != clinic.pk:
        raise ImportRefused(f"{username!r} is not an active member of clinic {clinic.pk}")
    if not (user.is_counselor or user.is_supervisor):
        raise ImportRefused(f"{username!r} is not a counselor or supervisor: clients need one")
    return user


def _episodes(parsed: ParsedScores, origin: str) -> list[_EpisodeRows]:
    """The rows grouped by client and episode, each group's rows checked for repeats."""
    groups: dict[tuple[str, str], _EpisodeRows] = {}
    for index, line in enumerate(parsed.line):
        where = f"{origin}: line {line}"
        raw_date = parsed.date[index]
        if not raw_date:
            raise ScoresFileError(f"{where}: date is empty (each imported session needs one)")
        key = (parsed.client_id[index], parsed.episode[index])
        group = groups.setdefault(key, _EpisodeRows(*key))
        row = _Row(
            line,
            parsed.session[index],
            dt.date.fromisoformat(raw_date),
            parsed.instrument[index],
            parsed.total[index],
            parsed.items[index],
        )
        _check_repeat(group, row, where)
        group.rows.append(row)
    return sorted(groups.values(), key=lambda g: (g.client_id, g.opened_on, g.label))


def _check_repeat(group: _EpisodeRows, row: _Row, where: str) -> None:
    for seen in group.rows:
        if seen.session != row.session:
            continue
        if seen.date != row.date:
            raise ScoresFileError(
                f"{where}: session {row.session} is dated {seen.date} on line {seen.line}"
            )
        if seen.instrument == row.instrument:
            raise ScoresFileError(f"{where}: {row.instrument} session {row.session} is already on line {seen.line}")  # fmt: skip


def _endings(text: str) -> dict[tuple[str, str], EpisodeEnding]:
    return {(e.client_id, e.episode): e for e in parse_endings(text, origin="episodes")}


def _write(
    clinic: Clinic,
    counselor: User,
    episodes: list[_EpisodeRows],
    endings: dict[tuple[str, str], EpisodeEnding],
    instruments: dict[str, Instrument],
    counts: ImportCounts,
    origin: str,
) -> None:
    """Every write, client by client (by external id) and each client's episodes by date; then
    the alerts."""
    alerts_before = Alert.objects.filter(client__clinic=clinic).count()
    known = _clients_by_external_id(clinic)
    matched = set(known)
    changed: list[Episode] = []
    for group in episodes:
        where = f"{origin}: line {group.first_line}"
        client = _client(clinic, counselor, group, known, counts, where)
        if group.client_id in matched:
            counts.clients_matched += 1
            matched.discard(group.client_id)
        episode = _episode(client, group, counts, where)
        if _fill(episode, group, instruments, counts, origin):
            changed.append(episode)
        ending = endings.get((group.client_id, group.label))
        if ending is not None and episode.closed_on is None:
            close_episode(episode, ending.ending.value, on=ending.ended or group.last_date)
            counts.episodes_closed += 1
    # Closed episodes first: they are the reference the open ones are judged against.
    for episode in sorted(changed, key=lambda e: e.closed_on is None):
        refresh_alerts(episode, notify=False)  # old answers: on the caseload, not emailed
    counts.alerts_raised = Alert.objects.filter(client__clinic=clinic).count() - alerts_before


def _clients_by_external_id(clinic: Clinic) -> dict[str, Client]:
    """The clinic's clients by external id (encrypted at rest, so compared after reading)."""
    return {c.external_id: c for c in Client.objects.filter(clinic=clinic) if c.external_id}


def _client(
    clinic: Clinic,
    counselor: User,
    group: _EpisodeRows,
    known: dict[str, Client],
    counts: ImportCounts,
    where: str,
) -> Client:
    client = known.get(group.client_id)
    if client is None:
        # The file has no names: the external id stands in until staff give a display name.
        client = create_client(
            clinic, counselor, group.client_id, group.client_id, opened_on=group.opened_on
        )
        known[group.client_id] = client
        counts.clients_created += 1
        counts.episodes_created += 1
        return client
    if not can_change(counselor, client):
        raise ImportRefused(f"{where}: this client is on a caseload {counselor.username} cannot change")  # fmt: skip
    return client


def _episode(client: Client, group: _EpisodeRows, counts: ImportCounts, where: str) -> Episode:
    """The client's episode that opened on the group's first date, else a new one."""
    found = client.episodes.filter(opened_on=group.opened_on).order_by("id").first()
    if found is not None:
        return found
    try:
        episode = open_episode(client, group.opened_on)
    except EpisodeRefused as exc:
        raise ImportRefused(f"{where}: {exc} (close it in the episodes file)") from None
    counts.episodes_created += 1
    return episode


def _fill(
    episode: Episode,
    group: _EpisodeRows,
    instruments: dict[str, Instrument],
    counts: ImportCounts,
    origin: str,
) -> bool:
    """Record the group's sessions and scores; True when anything was new. The episode's
    sessions and completed scores are read once, so a second run costs two queries per episode."""
    sessions = {s.number: s for s in episode.sessions.all()}
    done = {
        (a.session_id, a.instrument): a
        for a in Administration.objects.filter(
            session__episode=episode, status=AdministrationStatus.COMPLETED
        )
    }
    created = counts.administrations_created
    for row in sorted(group.rows, key=lambda r: (r.session, r.line)):
        where = f"{origin}: line {row.line}"
        session = sessions.get(row.session)
        if session is None:
            session, made = past_session(episode, row.session, row.date)
            counts.sessions_created += made
            sessions[row.session] = session
        if session.date != row.date:
            raise ImportRefused(f"{where}: session {row.session} is already dated {session.date}")  # fmt: skip
        existing = done.get((session.pk, row.instrument))
        _administration(session, instruments[row.instrument], row, existing, counts, where)
    return counts.administrations_created > created


def _administration(
    session: Session,
    instrument: Instrument,
    row: _Row,
    existing: Administration | None,
    counts: ImportCounts,
    where: str,
) -> None:
    answers = _answers(instrument, row)
    if existing is not None:
        if not _same(existing, answers, row):
            raise ImportRefused(f"{where}: {instrument.id} session {row.session} is already recorded with other answers")  # fmt: skip
        counts.administrations_unchanged += 1
        return
    when = timezone.make_aware(dt.datetime.combine(row.date, NOON))
    try:
        if answers:
            made = record_administration(session, instrument, answers, CHANNEL, when)
            _check_total(made, row, where)
        elif not math.isnan(row.total):
            record_total(session, instrument, row.total, CHANNEL, when)
        else:
            raise ImportRefused(f"{where}: neither a total nor items")
    except InvalidAnswersError as exc:
        raise ImportRefused(f"{where}: {exc}") from None
    counts.administrations_created += 1


def _answers(instrument: Instrument, row: _Row) -> dict[str, float]:
    """The item answers given on the row, by item id (none: the row has a total only)."""
    return {
        item.id: _plain(value)
        for item, value in zip(instrument.items, _padded(row.items, instrument), strict=True)
        if not math.isnan(value)
    }


def _padded(values: list[float], instrument: Instrument) -> Iterator[float]:
    for position in range(len(instrument.items)):
        yield values[position] if position < len(values) else math.nan


def _plain(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def _check_total(made: Administration, row: _Row, where: str) -> None:
    """A total written beside the items must be the one the items score to."""
    if math.isnan(row.total) or made.total is None:
        return
    if abs(made.total - row.total) > 1e-6:
        raise ImportRefused(f"{where}: total {row.total:g} but the items score {made.total:g}")


def _same(existing: Administration, answers: dict[str, float], row: _Row) -> bool:
    if answers:
        given = {k: v for k, v in existing.answers.items() if v is not None}
        return given == answers
    return existing.total is not None and abs(existing.total - row.total) <= 1e-6
