"""A realistic synthetic caseload for the demo: every name and answer here is invented.

Trajectories are deterministic (fixed seed): improving, flat and deteriorating clients, one
alliance rupture, one risk answer and one returning client with an earlier discharged episode,
so the dashboard shows every state it has. Alerts come from the core's rules through
``refresh_alerts``, exactly as for real submissions.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from alliance.core.instruments import Instrument
from alliance.demo_data import transcript_path
from alliance.web.accounts.models import Clinic, Role, Team
from alliance.web.alerts.services import refresh_alerts
from alliance.web.clinic.models import Client, Episode
from alliance.web.clinic.services import (
    close_episode,
    create_client,
    next_session,
    open_episode,
    record_administration,
)
from alliance.web.clinic.services import registry as instrument_registry
from alliance.web.transcripts.services import run_analysis, store_upload

SEED = 20240501
LOGINS = ("admin", "supervisor", "counselor", "counselor2")


@dataclass(frozen=True)
class Profile:
    """One synthetic client: PHQ-9 / GAD-7 totals and alliance means at first and last session."""

    name: str
    counselor: str
    sessions: int
    phq9: tuple[float, float]
    gad7: tuple[float, float]
    alliance: tuple[float, float]
    rupture_at: int | None = None
    risk_at_last: bool = False
    last_unmeasured: bool = False
    transcripts: tuple[tuple[int, str], ...] = ()  # (session number, bundled transcript file)
    returning: bool = False  # an earlier, discharged episode a year before this one


#: The earlier episode of a returning client: it went well, then life got hard again.
EARLIER = Profile("", "", 10, (16, 7), (12, 5), (4.3, 4.7))


PROFILES = (
    Profile("Sam K.", "counselor", 12, (19, 6), (15, 5), (4.2, 4.8), returning=True),
    Profile("Jo M.", "counselor", 10, (14, 13), (12, 12), (4.0, 4.2), last_unmeasured=True),
    Profile("Lee T.", "counselor", 8, (9, 18), (8, 15), (4.4, 3.6)),
    Profile(
        "Ana R.",
        "counselor",
        14,
        (17, 10),
        (13, 8),
        (4.6, 4.6),
        rupture_at=14,
        transcripts=((13, "strong_session.vtt"), (14, "weak_session.vtt")),
    ),
    Profile("Chris P.", "counselor", 6, (15, 17), (11, 12), (4.4, 4.2), risk_at_last=True),
    Profile("Dee W.", "counselor2", 20, (21, 4), (17, 4), (4.0, 4.9)),
    Profile("Max H.", "counselor2", 6, (11, 11), (9, 10), (4.5, 4.4)),
    Profile("Nia O.", "counselor2", 9, (13, 7), (16, 9), (3.8, 4.5)),
    Profile("Pat Q.", "counselor3", 7, (16, 12), (14, 11), (4.3, 4.4)),
    Profile("Ray S.", "counselor3", 11, (12, 16), (10, 13), (4.5, 4.1)),
)


def _spread(instrument: Instrument, target: float, rng: random.Random) -> dict[str, int]:
    """Item answers whose total (sum or mean) is close to ``target``."""
    n = len(instrument.items)
    low, high = int(instrument.min_value), int(instrument.max_value)
    total = round(target * n) if instrument.scoring_method == "mean" else round(target)
    total = max(low * n, min(high * n, total))
    values = [low] * n
    order = list(range(n))
    while sum(values) < total:
        rng.shuffle(order)
        for i in order:
            if sum(values) < total and values[i] < high:
                values[i] += 1
    return {item.id: v for item, v in zip(instrument.items, values, strict=True)}


def _target(
    span: tuple[float, float], number: int, count: int, rng: random.Random, noise: float = 1.5
) -> float:
    """A straight line from first to last session plus a little noise."""
    first, last = span
    fraction = (number - 1) / max(count - 1, 1)
    return first + (last - first) * fraction + rng.uniform(-noise, noise)


def _staff(password: str) -> dict[str, Any]:
    user_model = get_user_model()
    # Two-factor stays optional here, so the printed demo logins work without a phone.
    clinic = Clinic.objects.create(name="Riverside Counselling (demo)", two_factor_roles="")
    north = Team.objects.create(clinic=clinic, name="North team")
    south = Team.objects.create(clinic=clinic, name="South team")
    people = {
        "admin": (Role.ADMIN, None),
        "supervisor": (Role.SUPERVISOR, north),
        "counselor": (Role.COUNSELOR, north),
        "counselor2": (Role.COUNSELOR, north),
        "counselor3": (Role.COUNSELOR, south),
    }
    users: dict[str, Any] = {}
    for username, (role, team) in people.items():
        # the clinic admin manages the clinic in the app; Django admin is for platform operators
        user = user_model(username=username, role=role, clinic=clinic, team=team)
        user.set_password(password)
        user.save()
        users[username] = user
    users["_clinic"] = clinic
    return users


def _client(profile: Profile, users: dict[str, Any], rng: random.Random) -> Client:
    today = timezone.localdate()
    start = today - datetime.timedelta(weeks=profile.sessions)
    first_start = start - datetime.timedelta(weeks=52) if profile.returning else start
    client = create_client(
        users["_clinic"], users[profile.counselor], profile.name, opened_on=first_start
    )
    episode = client.current_episode()
    assert episode is not None
    if profile.returning:
        # its own random stream, so the rest of the caseload stays exactly as before
        _course(episode, EARLIER, first_start, users[profile.counselor], random.Random(SEED + 1))
        close_episode(episode, on=first_start + datetime.timedelta(weeks=EARLIER.sessions))
        episode = open_episode(client, opened_on=start)
    _course(episode, profile, start, users[profile.counselor], rng)
    return client


def _course(
    episode: Episode, profile: Profile, start: datetime.date, counselor: Any, rng: random.Random
) -> None:
    """One episode's weekly sessions with PHQ-9, GAD-7 and the alliance check."""
    reg = instrument_registry()
    phq9, gad7, ac = reg.get("phq9"), reg.get("gad7"), reg.get("alliance_check")
    for number in range(1, profile.sessions + 1):
        date = start + datetime.timedelta(weeks=number - 1)
        session = next_session(episode, date, "attended")
        if profile.last_unmeasured and number == profile.sessions:
            continue
        when = timezone.make_aware(datetime.datetime.combine(date, datetime.time(10)))
        answers = _spread(phq9, _target(profile.phq9, number, profile.sessions, rng), rng)
        answers["phq9_9"] = 2 if profile.risk_at_last and number == profile.sessions else 0
        record_administration(session, phq9, answers, "link", when)
        gad = _spread(gad7, _target(profile.gad7, number, profile.sessions, rng), rng)
        record_administration(session, gad7, gad, "link", when)
        mean = _target(profile.alliance, number, profile.sessions, rng, noise=0.2)
        if profile.rupture_at is not None and number == profile.rupture_at:
            mean = 2.6
        record_administration(session, ac, _spread(ac, mean, rng), "link", when)
        refresh_alerts(episode)  # as after each real submission, so alert history builds up
        for _number, name in (t for t in profile.transcripts if t[0] == number):
            _analysed_transcript(session, counselor, name)


def _analysed_transcript(session: Any, counselor: Any, name: str) -> None:
    """Store a bundled synthetic transcript and analyse it now (the demo has no worker yet)."""
    path = transcript_path(name)
    transcript = store_upload(session, counselor, path.read_bytes(), name, "Sam Rivera")
    run_analysis(transcript)


@transaction.atomic
def seed(password: str, clients: int | None = None, sessions: int = 10) -> dict[str, Any]:
    """Create the demo clinic, staff and caseload in an empty database; with ``clients``, a
    clinic of that many clients (the demo's own, then bulk ones of about ``sessions`` each)."""
    rng = random.Random(SEED)
    users = _staff(password)
    made = [_client(profile, users, rng) for profile in PROFILES]
    added: list[str] = []
    if clients is not None and clients > len(made):
        from alliance.web.demo_scale import seed_bulk

        added = seed_bulk(users, clients - len(made), random.Random(SEED + 2), sessions)
    return {
        "users": [u for u in users if not u.startswith("_")],
        "clients": max(len(made), clients or 0),
        "added": added,
    }
