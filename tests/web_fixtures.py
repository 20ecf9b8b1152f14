"""A small clinic world for the web tests: two clinics, two teams, users per role, clients.

``own`` belongs to ``counselor`` (in the supervisor's team); ``teammate`` to another counselor of
that team; ``other_team`` to a counselor of a second team; ``other_clinic`` to another clinic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client as HttpClient

from alliance.web.accounts.models import Clinic, Role, Team, User
from alliance.web.alerts.models import Alert
from alliance.web.clinic.models import Client, Session
from alliance.web.clinic.services import create_client, next_session

PASSWORD = "correct-Horse-battery-9"

PHQ9_RISK = {f"phq9_{i}": 2 for i in range(1, 10)}  # total 18, item 9 = 2
GAD7_ANSWERS = {f"gad7_{i}": 1 for i in range(1, 8)}
ALLIANCE_ANSWERS = {
    "ac_heard": 4,
    "ac_respect": 5,
    "ac_trust": 4,
    "ac_goals": 4,
    "ac_tasks": 5,
}


@dataclass
class World:
    clinic: Clinic
    other_clinic: Clinic
    admin: User
    supervisor: User
    counselor: User
    teammate_counselor: User
    south_counselor: User
    foreign_counselor: User
    own: Client
    teammate: Client
    other_team: Client
    foreign: Client

    def user(self, role: str) -> User:
        user: User = getattr(self, role)
        return user

    def client_for(self, relation: str) -> Client:
        return {
            "own": self.own,
            "teammate": self.teammate,
            "other_team": self.other_team,
            "other_clinic": self.foreign,
        }[relation]


@cache
def _hashed() -> str:
    """Hash once (argon2 is slow on purpose); every test user shares the hash."""
    return make_password(PASSWORD)


def make_user(username: str, role: str, clinic: Clinic, team: Team | None) -> User:
    user = User(username=username, role=role, clinic=clinic, team=team, password=_hashed())
    user.save()
    return user


def with_session(client: Client) -> Session:
    episode = client.current_episode()
    assert episode is not None
    return next_session(episode)


@pytest.fixture
def world(db: Any, data_dir: Any) -> World:
    # Two-factor is optional in these clinics: these tests specify roles and access, and log in
    # with force_login; tests/test_web_two_factor.py specifies the policy and its enforcement.
    clinic = Clinic.objects.create(name="Clinic A", two_factor_roles="")
    other = Clinic.objects.create(name="Clinic B", two_factor_roles="")
    north = Team.objects.create(clinic=clinic, name="North")
    south = Team.objects.create(clinic=clinic, name="South")
    far = Team.objects.create(clinic=other, name="Far")
    users = {
        "admin": make_user("admin_a", Role.ADMIN, clinic, None),
        "supervisor": make_user("super_north", Role.SUPERVISOR, clinic, north),
        "counselor": make_user("couns_a", Role.COUNSELOR, clinic, north),
        "teammate_counselor": make_user("couns_b", Role.COUNSELOR, clinic, north),
        "south_counselor": make_user("couns_c", Role.COUNSELOR, clinic, south),
        "foreign_counselor": make_user("couns_x", Role.COUNSELOR, other, far),
    }
    clients = {
        "own": create_client(clinic, users["counselor"], "Alex Own"),
        "teammate": create_client(clinic, users["teammate_counselor"], "Bea Teammate"),
        "other_team": create_client(clinic, users["south_counselor"], "Cal South"),
        "foreign": create_client(other, users["foreign_counselor"], "Dan Foreign"),
    }
    for client in clients.values():
        with_session(client)
        risk_alert(client)
    return World(clinic=clinic, other_clinic=other, **users, **clients)


def risk_alert(client: Client) -> Alert:
    """An open safety alert on the client's current episode, as a PHQ-9 item 9 answer raises."""
    return Alert.objects.create(
        client=client,
        episode=client.current_episode(),
        kind="risk",
        rule="risk:item9",
        instrument="phq9",
        severity="safety",
        detail="test alert",
        session_number=1,
    )


def logged_in(user: User, **kwargs: Any) -> HttpClient:
    http = HttpClient(**kwargs)
    http.force_login(user)
    return http


def operator_client(operator: User) -> HttpClient:
    """A platform operator signed in past the second step (two-factor is always required of
    operators; tests/test_web_two_factor.py specifies that step)."""
    from alliance.web.accounts.two_factor import VERIFIED_KEY

    http = logged_in(operator)
    session = http.session
    session[VERIFIED_KEY] = True
    session.save()
    return http


def token_from(html: str) -> str:
    """The feedback token in a 'link created' page."""
    match = re.search(r"/f/([A-Za-z0-9_\-]{20,})/", html)
    assert match, "no feedback link on the page"
    return match.group(1)
