"""A realistic synthetic caseload for the demo: every name and answer here is invented.

Trajectories are deterministic (fixed seed): improving, flat and deteriorating clients, one
alliance rupture, one risk answer and one returning client with an earlier discharged episode,
so the dashboard shows every state it has. Alerts come from the core's rules through
``refresh_alerts``, exactly as for real submissions.
"""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

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
from alliance.web.demo_profiles import EARLIER, PROFILES, Profile, spread, target
from alliance.web.messaging.models import ClinicMessaging
from alliance.web.messaging.services import save_contact
from alliance.web.transcripts.services import run_analysis, store_upload

SEED = 20240501
LOGINS = ("admin", "supervisor", "counselor", "counselor2")
#: The demo client who agreed to email and has a session later today: with a real mail server
#: configured, the worker emails their before-session questions as the demo starts.
INVITED = "Lee T."
INVITED_EMAIL = "lee.demo@example.org"
DEMO_SENDER = "Riverside (demo)"


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
        close_episode(
            episode, "planned", on=first_start + datetime.timedelta(weeks=EARLIER.sessions)
        )
        episode = open_episode(client, opened_on=start)
    _course(episode, profile, start, users[profile.counselor], rng)
    return client


def _session_later_today(client: Client) -> None:
    """The next session in two hours (tomorrow's early hours near midnight: still within the
    schedule's 24 hours), and an email address the client agreed to be sent questions at."""
    start = timezone.localtime() + datetime.timedelta(hours=2)
    episode = client.current_episode()
    assert episode is not None
    next_session(episode, start.date(), "scheduled", starts_at=start.time().replace(microsecond=0))
    # "Counselling" is a health word: messages must not say what the clinic treats.
    ClinicMessaging.objects.create(clinic_id=client.clinic_id, sender_name=DEMO_SENDER)
    contact = {
        "email": INVITED_EMAIL,
        "mobile": "",
        "first_name": "",
        "email_consent": True,
        "sms_consent": False,
        "consent_how": "verbal",
        "consent_note": "",
    }
    save_contact(client.pk, contact, client.counselor_id)


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
        answers = spread(phq9, target(profile.phq9, number, profile.sessions, rng), rng)
        answers["phq9_9"] = 2 if profile.risk_at_last and number == profile.sessions else 0
        record_administration(session, phq9, answers, "link", when)
        gad = spread(gad7, target(profile.gad7, number, profile.sessions, rng), rng)
        record_administration(session, gad7, gad, "link", when)
        mean = target(profile.alliance, number, profile.sessions, rng, noise=0.2)
        if profile.rupture_at is not None and number == profile.rupture_at:
            mean = 2.6
        record_administration(session, ac, spread(ac, mean, rng), "link", when)
        refresh_alerts(episode)  # as after each real submission, so alert history builds up
        for _number, name in (t for t in profile.transcripts if t[0] == number):
            _analysed_transcript(session, counselor, name)


def _analysed_transcript(session: Any, counselor: Any, name: str) -> None:
    """Store a bundled synthetic transcript and analyse it now (the demo has no worker yet)."""
    path = transcript_path(name)
    transcript = store_upload(session, counselor, path.read_bytes(), name, "Sam Rivera")
    run_analysis(transcript)


@transaction.atomic
def seed(
    password: str, clients: int | None = None, sessions: int = 10, history: int = 0
) -> dict[str, Any]:
    """Create the demo clinic, staff and caseload in an empty database; with ``clients``, a
    clinic of that many clients (the demo's own, then bulk ones of about ``sessions`` each);
    with ``history``, that many past clients' closed episodes (``demo_history``), added last so
    the caseload's own alerts stay as they are."""
    rng = random.Random(SEED)
    users = _staff(password)
    made = [_client(profile, users, rng) for profile in PROFILES]
    _session_later_today(next(c for c in made if c.display_name == INVITED))
    added: list[str] = []
    if clients is not None and clients > len(made):
        from alliance.web.demo_scale import seed_bulk

        added = seed_bulk(users, clients - len(made), random.Random(SEED + 2), sessions)
    if history:
        from alliance.web.demo_history import seed_history

        history = seed_history(users, history, SEED + 3)
    return {
        "users": [u for u in users if not u.startswith("_")],
        "clients": max(len(made), clients or 0),
        "added": added,
        "history": history,
    }
