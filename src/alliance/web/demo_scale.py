"""A demo clinic at scale (``alliance demo --clients N``, ``benchmarks/web_scale.py``).

Bulk clients follow the demo's trajectory profiles (improving, flat, deteriorating, a rupture, a
risk answer), about ten weekly sessions each, some of them discharged. Rows are written with
``bulk_create`` so that 1,000 clients build in well under a minute, but nothing clinical is
skipped: every score comes from the core through ``scored_administration`` and every alert from
``refresh_alerts``. Names are invented from two short lists; no transcripts are analysed here.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import random
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from alliance.web.accounts.models import Role
from alliance.web.alerts.services import reference_changed, refresh_alerts
from alliance.web.clinic.models import (
    Administration,
    Client,
    Episode,
    MeasurePlanItem,
    Session,
    SessionStatus,
)
from alliance.web.clinic.services import ensure_clinic_instruments, scored_administration
from alliance.web.clinic.services import registry as instrument_registry
from alliance.web.demo_profiles import PROFILES, Profile, spread, target

PER_COUNSELOR = 40
SESSIONS = 10
DISCHARGED = 0.15  # share of bulk clients whose episode has ended
FIRST = (
    "Alex", "Bea", "Cal", "Dana", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jae", "Kit", "Lou",
    "Mo", "Nel", "Oli", "Pia", "Quin", "Rosa", "Teo", "Uma", "Val", "Wyn", "Yan", "Zoe",
)  # fmt: skip
LAST = "ABCDEFGHJKLMNPRSTVWZ"


@dataclasses.dataclass
class _Plan:
    """One bulk client before it is written: who, which trajectory, and when."""

    client: Client
    profile: Profile
    start: datetime.date
    discharged: bool
    episode: Episode | None = None


def seed_bulk(users: dict[str, Any], count: int, rng: random.Random, sessions: int) -> list[str]:
    """Add ``count`` clients to the demo clinic of ``users`` (as made by ``demo._staff``),
    spread over its counselors and teams, with more counselors so each has about forty clients.
    Returns the logins of the counselors it added (same password as the demo's)."""
    clinic = users["_clinic"]
    ensure_clinic_instruments(clinic)
    counselors, added = _counselors(users, count)
    today = timezone.localdate()
    plans = []
    for i in range(count):
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}."
        length = max(2, sessions + rng.randint(-4, 4))
        discharged = rng.random() < DISCHARGED
        weeks_ago = length + (rng.randint(2, 40) if discharged else 0)
        plans.append(
            _Plan(
                client=Client(
                    clinic=clinic, counselor=counselors[i % len(counselors)], display_name=name
                ),
                profile=_profile(rng.choice(PROFILES), length),
                start=today - datetime.timedelta(weeks=weeks_ago),
                discharged=discharged,
            )
        )
    _write(clinic, plans, rng)
    _alerts(clinic, plans)
    return added


def _counselors(users: dict[str, Any], count: int) -> tuple[list[Any], list[str]]:
    """The demo's counselors plus new ones (alternating teams) for about forty clients each;
    the new ones share the demo password's hash, so building them costs no extra hashing."""
    existing = [u for k, u in users.items() if not k.startswith("_") and u.role == Role.COUNSELOR]
    teams = sorted({u.team for u in existing}, key=lambda t: t.pk)
    total = len(PROFILES) + count
    wanted = max(len(existing), math.ceil(total / PER_COUNSELOR))
    model = get_user_model()
    new = [
        model(
            username=f"counselor{n}",
            role=Role.COUNSELOR,
            clinic=users["_clinic"],
            team=teams[n % len(teams)],
            password=existing[0].password,
        )
        for n in range(len(existing) + 1, wanted + 1)
    ]
    model.objects.bulk_create(new)
    return existing + new, [u.username for u in new]


def _profile(template: Profile, length: int) -> Profile:
    """A demo trajectory stretched over ``length`` sessions (a rupture at the last one)."""
    return dataclasses.replace(
        template,
        sessions=length,
        rupture_at=length if template.rupture_at is not None else None,
        transcripts=(),
        returning=False,
    )


def _write(clinic: Any, plans: list[_Plan], rng: random.Random) -> None:
    """Clients, episodes, measure plans, sessions and scored administrations, in bulk."""
    Client.objects.bulk_create([p.client for p in plans])
    for p in plans:
        p.episode = Episode(client=p.client, opened_on=p.start)
    Episode.objects.bulk_create([p.episode for p in plans if p.episode])
    items = list(clinic.instruments.filter(enabled=True))
    MeasurePlanItem.objects.bulk_create(
        MeasurePlanItem(episode=p.episode, instrument=i.instrument, timing=i.timing, order=i.order)
        for p in plans
        for i in items
    )
    rows: list[tuple[_Plan, Session]] = []
    for p in plans:
        for number in range(1, p.profile.sessions + 1):
            date = p.start + datetime.timedelta(weeks=number - 1)
            session = Session(
                episode=p.episode, number=number, date=date, status=SessionStatus.ATTENDED
            )
            rows.append((p, session))
    Session.objects.bulk_create([s for _, s in rows], batch_size=2000)
    done = [a for p, s in rows for a in _administrations(p.profile, s, rng)]
    Administration.objects.bulk_create(done, batch_size=2000)


def _administrations(profile: Profile, session: Session, rng: random.Random) -> list[Any]:
    """PHQ-9, GAD-7 and the alliance check of one session, scored by the core."""
    number, count = session.number, profile.sessions
    if profile.last_unmeasured and number == count:
        return []
    reg = instrument_registry()
    phq9, gad7, ac = reg.get("phq9"), reg.get("gad7"), reg.get("alliance_check")
    when = timezone.make_aware(datetime.datetime.combine(session.date, datetime.time(10)))
    answers = spread(phq9, target(profile.phq9, number, count, rng), rng)
    anxiety = spread(gad7, target(profile.gad7, number, count, rng), rng)
    answers["phq9_9"] = 2 if profile.risk_at_last and number == count else 0
    mean = target(profile.alliance, number, count, rng, noise=0.2)
    if profile.rupture_at is not None and number == profile.rupture_at:
        mean = 2.6
    return [
        scored_administration(session, phq9, answers, "link", when),
        scored_administration(session, gad7, anxiety, "link", when),
        scored_administration(session, ac, spread(ac, mean, rng), "link", when),
    ]


def _alerts(clinic: Any, plans: list[_Plan]) -> None:
    """Alerts through the real ``refresh_alerts``: discharged episodes are evaluated while
    still open (as they were during care), then closed, and the clinic's reference refitted
    once before the open episodes are evaluated against it."""
    ended = [p for p in plans if p.discharged]
    for p in ended:
        assert p.episode is not None
        refresh_alerts(p.episode)
    for p in ended:
        assert p.episode is not None
        p.episode.closed_on = p.start + datetime.timedelta(weeks=p.profile.sessions)
    Episode.objects.bulk_update([p.episode for p in ended if p.episode], ["closed_on"])
    reference_changed(clinic.pk)
    for p in plans:
        if not p.discharged and p.episode is not None:
            refresh_alerts(p.episode)
