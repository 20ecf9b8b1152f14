"""A de-identified research export of one clinic: CSV files and their data dictionary.

Why: a clinic's own alliance and outcome data answers research questions, but a research copy
must not identify anyone. So no name, contact detail, external id, note or transcript text is
read into it; ids are pseudonyms (HMAC-SHA256 under a key that is random per export unless the
caller keeps one, so two exports link only when they share it); dates move by a random
per-client offset that keeps intervals, or become days since the client's first episode opened.
The clients come from ``access.clients_for_research`` (the clinic's admins and operators only),
and the export is one audit event.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest

from alliance.core.instruments import bundled_instruments
from alliance.core.transcripts.packs import is_empathy_key
from alliance.web.accounts.models import User
from alliance.web.alerts.models import Alert
from alliance.web.audit.log import record
from alliance.web.clinic.access import clients_for_research
from alliance.web.clinic.models import Administration, AdministrationStatus, Client, Episode
from alliance.web.transcripts.models import Transcript, research_pack_on

ACTION = "research_export"
#: Dates move by up to this many days either way (never 0), one random offset per client.
MAX_SHIFT_DAYS = 365
#: Hex characters kept of each HMAC-SHA256 pseudonym (80 bits: no collisions at clinic scale).
PSEUDONYM_HEX = 20
KEY_BYTES = 32

#: Every file and column written, with its meaning: the data dictionary (docs/research-export.md).
DICTIONARY: dict[str, list[tuple[str, str]]] = {
    "episodes.csv": [
        ("episode", "pseudonymous episode id"),
        ("client", "pseudonymous client id"),
        ("counselor", "pseudonymous id of the client's counselor"),
        ("opened", "date the episode opened (shifted), or days since intake"),
        ("closed", "date it closed (shifted), or days since intake; empty while open"),
        (
            "ending",
            "how it ended: planned, unplanned (dropout), transferred, other; empty if open or not recorded",
        ),
        ("sessions", "number of sessions of treatment recorded (follow-up excluded)"),
    ],
    "administrations.csv": [
        ("administration", "pseudonymous administration id"),
        ("episode", "pseudonymous episode id"),
        ("client", "pseudonymous client id"),
        ("session", "session number within the episode"),
        ("date", "session date (shifted), or days since intake"),
        ("follow_up", "1 for the follow-up after discharge, else 0"),
        ("instrument", "instrument id (alliance instruments lists them)"),
        ("total", "total score as the core scored it; empty when unscorable"),
        ("severity", "severity band id of the total, where the instrument has bands"),
        (
            "case",
            "1 when the total is at or past the instrument's caseness cutoff, 0 when not, empty when it has none",
        ),
        ("prorated", "1 when missing items were prorated"),
        (
            "item1..itemN",
            "answer to the instrument's item N in its file's order; empty when not answered (or total only)",
        ),
    ],
    "alerts.csv": [
        ("alert", "pseudonymous alert id"),
        ("episode", "pseudonymous episode id"),
        ("client", "pseudonymous client id"),
        (
            "kind",
            "risk, alliance_rupture, not_on_track, reliable_deterioration, no_reliable_change (docs/alerts.md)",
        ),
        ("rule", "the rule that fired (docs/alerts.md)"),
        ("instrument", "instrument id"),
        ("session", "session number where the condition holds"),
        ("severity", "safety, warning or info"),
        ("status", "open, acknowledged or resolved (the acknowledgement note is not exported)"),
        ("raised", "date raised (shifted), or days since intake"),
        ("numbers", "the numbers behind the rule, as JSON"),
    ],
    "transcript_metrics.csv": [
        ("transcript", "pseudonymous transcript id"),
        ("episode", "pseudonymous episode id"),
        ("client", "pseudonymous client id"),
        ("session", "session number"),
        ("metric", "skill metric key (docs/transcripts.md); the transcript text is never exported"),
        ("value", "its value"),
    ],
}


class ExportRefused(Exception):
    """The export cannot be made (who asked, or the key file); nothing was written."""


@dataclass(frozen=True)
class ExportSummary:
    clients: int
    episodes: int
    administrations: int
    alerts: int
    transcript_metrics: int


@dataclass(frozen=True)
class _Dating:
    """Turns a client's real dates into exported ones: shifted, or days since intake."""

    offsets: dict[int, int]
    intake: dict[int, dt.date]
    days_since_intake: bool

    def __call__(self, client_id: int, day: dt.date | dt.datetime | None) -> str:
        if day is None:
            return ""
        if isinstance(day, dt.datetime):
            day = day.date()
        if self.days_since_intake:
            return str((day - self.intake[client_id]).days)
        return (day + dt.timedelta(days=self.offsets[client_id])).isoformat()


class _Pseudonyms:
    """HMAC-SHA256 of a row's kind and id under the export's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, kind: str, pk: int) -> str:
        digest = hmac.new(self._key, f"{kind}:{pk}".encode(), hashlib.sha256)
        return digest.hexdigest()[:PSEUDONYM_HEX]


def read_key(path: Path) -> bytes:
    """A kept key (at least 32 bytes), so exports made with it share their pseudonyms."""
    key = path.read_bytes().strip()
    if len(key) < KEY_BYTES:
        raise ExportRefused(f"{path}: a key file needs at least {KEY_BYTES} bytes")
    return key


def export_research(
    user: User,
    clinic_id: int,
    output: Path,
    *,
    key: bytes | None = None,
    days_since_intake: bool = False,
) -> ExportSummary:
    """Write the clinic's de-identified CSV files and data dictionary into ``output``."""
    try:
        clients = clients_for_research(user, clinic_id)
    except PermissionDenied:
        _audit(user, clinic_id, "denied")
        raise
    output.mkdir(parents=True, exist_ok=True)
    pid = _Pseudonyms(key or secrets.token_bytes(KEY_BYTES))
    treatment = Count("sessions", filter=Q(sessions__follow_up=False))
    episodes = list(  # no client row is read: its name would only be decrypted to be ignored
        Episode.objects.filter(client__in=clients)
        .annotate(treatment_sessions=treatment, counselor=F("client__counselor_id"))
        .order_by("client_id", "opened_on", "id")
    )
    dating = _dating(episodes, days_since_intake)
    summary = ExportSummary(
        clients=len(dating.intake),
        episodes=_write_episodes(output, episodes, pid, dating),
        administrations=_write_administrations(output, clients, pid, dating),
        alerts=_write_alerts(output, clients, pid, dating),
        transcript_metrics=_write_metrics(output, clients, pid, research_pack_on(clinic_id)),
    )
    _write_dictionary(output, days_since_intake)
    _audit(user, clinic_id, "ok")
    return summary


def _audit(user: User, clinic_id: int, outcome: str) -> None:
    request = HttpRequest()
    request.user = user
    record(
        request,
        ACTION,
        object_type="clinic",
        object_id=clinic_id,
        clinic_id=clinic_id,
        outcome=outcome,
    )


def _dating(episodes: Sequence[Episode], days_since_intake: bool) -> _Dating:
    """Each client's intake (first episode opened) and a random non-zero shift."""
    intake: dict[int, dt.date] = {}
    for episode in episodes:
        seen = intake.get(episode.client_id)
        intake[episode.client_id] = min(seen, episode.opened_on) if seen else episode.opened_on
    offsets = {client: _shift() for client in intake}
    return _Dating(offsets, intake, days_since_intake)


def _shift() -> int:
    days = secrets.randbelow(MAX_SHIFT_DAYS) + 1
    return days if secrets.randbelow(2) else -days


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _columns(name: str) -> list[str]:
    return [column for column, _ in DICTIONARY[name]]


def _write_episodes(
    output: Path, episodes: Sequence[Episode], pid: _Pseudonyms, dating: _Dating
) -> int:
    rows = (
        [
            pid("episode", e.pk),
            pid("client", e.client_id),
            pid("counselor", e.counselor),
            dating(e.client_id, e.opened_on),
            dating(e.client_id, e.closed_on),
            e.ending,
            e.treatment_sessions,
        ]
        for e in episodes
    )
    return _write(output / "episodes.csv", _columns("episodes.csv"), rows)


def _write_administrations(
    output: Path, clients: QuerySet[Client], pid: _Pseudonyms, dating: _Dating
) -> int:
    instruments = bundled_instruments()
    done = (
        Administration.objects.filter(
            session__episode__client__in=clients, status=AdministrationStatus.COMPLETED
        )
        .select_related("session__episode")
        .order_by("session__episode_id", "session__number", "instrument")
    )
    width = max([len(i.items) for i in instruments.values()] + [1])
    header = [*_columns("administrations.csv")[:-1], *(f"item{n}" for n in range(1, width + 1))]

    def row(a: Administration) -> list[Any]:
        episode = a.session.episode
        order = [item.id for item in instruments[a.instrument].items]
        answers = [a.answers.get(item_id) for item_id in order]
        case = a.score.get("case")
        return [
            pid("administration", a.pk),
            pid("episode", episode.pk),
            pid("client", episode.client_id),
            a.session.number,
            dating(episode.client_id, a.session.date),
            int(a.session.follow_up),
            a.instrument,
            "" if a.total is None else a.total,
            a.score.get("severity") or "",
            "" if case is None else int(case),
            int(bool(a.score.get("prorated"))),
            *("" if v is None else v for v in answers),
            *([""] * (width - len(answers))),
        ]

    return _write(output / "administrations.csv", header, (row(a) for a in done.iterator()))


def _write_alerts(
    output: Path, clients: QuerySet[Client], pid: _Pseudonyms, dating: _Dating
) -> int:
    """The alerts' coded fields only: the detail, suggestion and note are not read."""
    alerts = Alert.objects.filter(client__in=clients).order_by("episode_id", "raised_at", "id")
    fields = ("pk", "episode_id", "client_id", "kind", "rule", "instrument", "session_number")
    rows = (
        [
            pid("alert", pk),
            pid("episode", episode),
            pid("client", client),
            kind,
            rule,
            instrument,
            "" if session is None else session,
            severity,
            status,
            dating(client, raised),
            json.dumps(numbers, sort_keys=True),
        ]
        for pk, episode, client, kind, rule, instrument, session, severity, status, raised, numbers
        in alerts.values_list(*fields, "severity", "status", "raised_at", "numbers")
    )  # fmt: skip
    return _write(output / "alerts.csv", _columns("alerts.csv"), rows)


def _write_metrics(
    output: Path, clients: QuerySet[Client], pid: _Pseudonyms, research: bool
) -> int:
    """Numbers only: ``Transcript.metrics`` holds no text, and no other field is read. Empathy
    values (research pack) only while the clinic has that pack on: stored ones stay behind."""
    transcripts = (
        Transcript.objects.filter(session__episode__client__in=clients)
        .order_by("id")
        .values_list(
            "pk", "metrics", "session__number", "session__episode_id", "session__episode__client_id"
        )
    )
    rows = (
        [pid("transcript", pk), pid("episode", episode), pid("client", client), number, key, value]
        for pk, metrics, number, episode, client in transcripts
        for key, value in sorted((metrics or {}).items())
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and (research or not is_empathy_key(key))
    )
    return _write(output / "transcript_metrics.csv", _columns("transcript_metrics.csv"), rows)


def _write_dictionary(output: Path, days_since_intake: bool) -> None:
    dates = "days since intake" if days_since_intake else "shifted dates"
    rows = (
        [name, column, f"{meaning} [this export: {dates}]" if "date" in meaning else meaning]
        for name, columns in DICTIONARY.items()
        for column, meaning in columns
    )
    _write(output / "data_dictionary.csv", ["file", "column", "meaning"], rows)
