"""Writes to staff accounts and teams: clinic administration in the app, and platform operators.

Views check who may act (a clinic admin, on their own clinic); these functions keep the rules
that hold whoever acts: a clinic keeps at least one active admin, nobody locks themselves out,
and a clinic user never holds Django's staff or superuser flags.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from alliance.web.accounts.models import Clinic, Role, Team, User


class StaffRefused(Exception):
    """A change the rules refuse; the message is one line for the page or the terminal."""


def create_operator(username: str, email: str, password: str) -> User:
    """A platform operator: an active superuser of no clinic, the only user of Django admin."""
    username = username.strip()
    if not username:
        raise StaffRefused("give the operator a login name")
    if User.objects.filter(username__iexact=username).exists():
        raise StaffRefused(f"the login name {username!r} is taken")
    user = User(username=username, email=email.strip(), is_staff=True, is_superuser=True)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise StaffRefused(" ".join(exc.messages)) from None
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:
        raise StaffRefused(f"the login name {username!r} is taken") from None
    return user


def operators() -> QuerySet[User]:
    return User.objects.filter(is_superuser=True, clinic__isnull=True).order_by(
        "-is_active", "username"
    )


def create_staff(
    clinic: Clinic,
    *,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    team: Team | None,
    password: str,
) -> User:
    """A new staff member of ``clinic`` (the form has validated the password and the name)."""
    _check_team(clinic.pk, team)
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        role=role,
        clinic=clinic,
        team=team,
        is_staff=False,
        is_superuser=False,
    )
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:
        raise StaffRefused("That login name is taken.") from None
    return user


@transaction.atomic
def change_role(actor: User, target: User, role: str, team: Team | None) -> None:
    """Set a colleague's role and team; an admin keeps their own role (another admin changes
    it), and the clinic keeps an active admin."""
    _lock_clinic(target)
    _check_team(target.clinic_id, team)
    if target.pk == actor.pk and role != target.role:
        raise StaffRefused("You cannot change your own role; ask another clinic admin.")
    if target.is_clinic_admin and role != Role.ADMIN and not _other_active_admins(target):
        raise StaffRefused("This is the clinic's last active admin; make someone else admin first.")
    target.role, target.team = role, team
    target.is_staff = target.is_superuser = False
    target.save(update_fields=["role", "team", "is_staff", "is_superuser"])


@transaction.atomic
def set_active(actor: User, target: User, active: bool) -> None:
    """Deactivate (their sessions end at once: inactive users are never authenticated) or
    reactivate a colleague; never yourself, never the clinic's last active admin."""
    _lock_clinic(target)
    if not active and target.pk == actor.pk:
        raise StaffRefused("You cannot deactivate yourself; ask another clinic admin.")
    if not active and target.is_clinic_admin and not _other_active_admins(target):
        raise StaffRefused("This is the clinic's last active admin; it cannot be deactivated.")
    target.is_active = active
    target.is_staff = target.is_superuser = False
    target.save(update_fields=["is_active", "is_staff", "is_superuser"])


def reset_password(target: User, password: str) -> None:
    """Set a new password; the changed hash ends every session the user had (Django checks it
    on each request), so a lost or shared login stops working at once."""
    target.set_password(password)
    target.save(update_fields=["password"])


def create_team(clinic: Clinic, name: str) -> Team:
    _check_team_name(clinic.pk, name)
    return Team.objects.create(clinic=clinic, name=name)


def rename_team(team: Team, name: str) -> None:
    _check_team_name(team.clinic_id, name, exclude=team.pk)
    team.name = name
    team.save(update_fields=["name"])


def _lock_clinic(target: User) -> None:
    """Serialise admin changes within a clinic, so two admins cannot deactivate each other."""
    list(Clinic.objects.select_for_update().filter(pk=target.clinic_id))
    target.refresh_from_db()


def _other_active_admins(target: User) -> bool:
    others = User.objects.filter(clinic_id=target.clinic_id, role=Role.ADMIN, is_active=True)
    return others.exclude(pk=target.pk).exists()


def _check_team(clinic_id: int | None, team: Team | None) -> None:
    if team is not None and team.clinic_id != clinic_id:
        raise StaffRefused("That team belongs to another clinic.")


def _check_team_name(clinic_id: int, name: str, exclude: int | None = None) -> None:
    same = Team.objects.filter(clinic_id=clinic_id, name__iexact=name.strip())
    if same.exclude(pk=exclude).exists():
        raise StaffRefused("The clinic already has a team of that name.")
