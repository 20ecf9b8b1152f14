"""The demo clinic's past: a few hundred closed episodes for the outcomes page.

Episodes come from the core's simulator (``alliance.core.outcomes.simulate``) with a known
alliance -> outcome link (``EFFECTS``), so the outcomes page's model can be seen to recover it:
a session whose alliance check is one point above the client's own average is followed by a
PHQ-9 two points lower. They are spread over the demo's counselors and the last 18 months, with
GAD-7 scores that follow PHQ-9, how each episode ended, and end-of-treatment satisfaction
answers from most clients who finished as planned. Every score is the core's
(``scored_administration``); rows are written in bulk. The clients are past clients
(``active=False``); no alerts are evaluated for them (the episodes ended), but they join the
clinic's expected-response reference like any closed episode.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.utils import timezone

from alliance.core.outcomes import Ending
from alliance.core.outcomes.simulate import AllianceEffects, simulate
from alliance.web.accounts.models import Role
from alliance.web.alerts.services import reference_changed
from alliance.web.clinic.models import (
    Administration,
    Client,
    Episode,
    Session,
    SessionStatus,
)
from alliance.web.clinic.services import registry as instrument_registry
from alliance.web.clinic.services import scored_administration
from alliance.web.demo_profiles import spread

#: The simulated truth the outcomes page should recover (PHQ-9 points per alliance-check point).
EFFECTS = AllianceEffects(within=-2.0, between=-3.0, client_sd=0.3)
HISTORY = 300
DAYS = 540  # episodes ended over the last 18 months
FIRST = ("Ari", "Bo", "Cy", "Di", "Ed", "Flo", "Gil", "Ida", "Jo", "Kai", "Lia", "Max")


def seed_history(users: dict[str, Any], count: int, seed: int) -> int:
    """Add ``count`` past clients with one closed episode each to the demo clinic of ``users``
    (as made by ``demo._staff``); returns how many episodes were added."""
    rng = random.Random(seed)
    counselors = [u for k, u in users.items() if not k.startswith("_") and u.role == Role.COUNSELOR]
    simulated = simulate(count, seed, "history", effects=EFFECTS, observations=False)
    today = timezone.localdate()
    clients = [
        Client(
            clinic=users["_clinic"],
            counselor=counselors[i % len(counselors)],
            display_name=f"{FIRST[i % len(FIRST)]} {chr(65 + (i // len(FIRST)) % 26)}. (past)",
            active=False,
        )
        for i in range(count)
    ]
    Client.objects.bulk_create(clients)
    episodes = []
    for client, sim in zip(clients, simulated, strict=True):
        closed = today - datetime.timedelta(days=rng.randint(7, DAYS))
        opened = closed - datetime.timedelta(weeks=sim.sessions)
        ending = _ending(sim.kind, rng)
        episodes.append(Episode(client=client, opened_on=opened, closed_on=closed, ending=ending))
    Episode.objects.bulk_create(episodes)
    _sessions_and_scores(episodes, simulated, rng)
    reference_changed(users["_clinic"].pk)
    return len(episodes)


def _ending(kind: str, rng: random.Random) -> Ending:
    """Rupture dropouts leave unplanned; of the rest most finish as planned."""
    if kind == "rupture_dropout":
        return Ending.UNPLANNED
    draw = rng.random()
    if draw < 0.82:
        return Ending.PLANNED
    if draw < 0.90:
        return Ending.UNPLANNED
    return Ending.TRANSFERRED if draw < 0.96 else Ending.OTHER


def _sessions_and_scores(episodes: list[Episode], simulated: list[Any], rng: random.Random) -> None:
    reg = instrument_registry()
    phq9, gad7, check = reg.get("phq9"), reg.get("gad7"), reg.get("alliance_check")
    satisfaction = reg.get("satisfaction_check")
    rows: list[tuple[Session, int, float]] = []
    for episode, sim in zip(episodes, simulated, strict=True):
        for number, (total, alliance) in enumerate(zip(sim.phq9, sim.alliance, strict=True), 1):
            date = episode.opened_on + datetime.timedelta(weeks=number - 1)
            session = Session(
                episode=episode, number=number, date=date, status=SessionStatus.ATTENDED
            )
            rows.append((session, total, alliance))
    Session.objects.bulk_create([s for s, _, _ in rows], batch_size=2000)
    done = []
    for session, total, alliance in rows:
        when = timezone.make_aware(datetime.datetime.combine(session.date, datetime.time(10)))
        anxiety = max(0, min(21, round(0.7 * total + rng.gauss(0, 1.5))))
        done += [
            scored_administration(session, phq9, _phq9(total, rng), "link", when),
            scored_administration(session, gad7, spread(gad7, anxiety, rng), "link", when),
            scored_administration(session, check, spread(check, alliance, rng), "link", when),
        ]
    last = {s.episode_id: (s, t) for s, t, _ in rows}  # sessions come in order: the last wins
    for episode, sim in zip(episodes, simulated, strict=True):
        if rng.random() < (0.25 if episode.ending == Ending.UNPLANNED else 0.75):
            session, _ = last[episode.pk]
            when = timezone.make_aware(datetime.datetime.combine(session.date, datetime.time(11)))
            answers = _satisfaction(sim.phq9, sim.alliance, rng)
            done.append(scored_administration(session, satisfaction, answers, "link", when))
    Administration.objects.bulk_create(done, batch_size=2000)


def _phq9(total: int, rng: random.Random) -> dict[str, int]:
    """PHQ-9 answers summing to ``total``, spread over items 1-8; the risk item (9) is answered
    only past 24, where the other items are full."""
    base, extra = divmod(min(total, 24), 8)
    raised = set(rng.sample(range(1, 9), extra))
    answers = {f"phq9_{i}": base + (i in raised) for i in range(1, 9)}
    answers["phq9_9"] = max(0, total - 24)
    return answers


def _satisfaction(phq9: list[int], alliance: list[float], rng: random.Random) -> dict[str, int]:
    """Clients who improved more and rated the alliance higher tend to be more satisfied."""
    mean_alliance = sum(alliance) / len(alliance)
    target = 3.6 + 0.08 * (phq9[0] - phq9[-1]) + 0.8 * (mean_alliance - 4.45)
    level = max(1, min(5, round(target + rng.uniform(-0.6, 0.6))))
    answers = {k: max(1, min(5, level + rng.choice((-1, 0, 0, 1)))) for k in _SATISFACTION_ITEMS}
    answers["sat_different"] = 6 - level  # reverse-keyed
    return answers


_SATISFACTION_ITEMS = ("sat_overall", "sat_helped", "sat_respect", "sat_recommend")
