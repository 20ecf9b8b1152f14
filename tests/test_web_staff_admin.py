"""Who administers what: Django admin is for platform operators only; clinic admins manage their
own clinic's staff, teams and instruments in the app, scoped to their clinic and audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as HttpClient

from alliance.web.accounts.models import Role, Team, User
from alliance.web.audit.models import AuditEvent

from .web_fixtures import PASSWORD, World, logged_in, make_user

NEW_PASSWORD = "Another-long-Pass-42"


def _operator() -> User:
    """A platform operator: an active superuser of no clinic (as `alliance operator create`)."""
    return User.objects.create_superuser("operator", password=PASSWORD)


def _other_clinic_superuser(world: World) -> User:
    """The old demo's shape: a clinic admin of clinic B with Django's superuser flags."""
    user = make_user("admin_b", Role.ADMIN, world.other_clinic, None)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def _staff_with_user_permissions(world: World) -> User:
    user = make_user("helpdesk_b", Role.COUNSELOR, world.other_clinic, None)
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    return user


def _actions(**filters: Any) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).values_list("action", flat=True))


# --- Issue 11, defect 1: Django admin was not clinic-scoped ----------------------------------


@pytest.mark.parametrize("who", ["other_clinic_superuser", "staff_with_user_permissions"])
def test_clinic_users_get_no_django_admin(world: World, who: str) -> None:
    user = {
        "other_clinic_superuser": _other_clinic_superuser,
        "staff_with_user_permissions": _staff_with_user_permissions,
    }[who](world)
    http = logged_in(user)
    target = world.counselor
    listing = http.get("/admin/accounts/user/")
    assert listing.status_code == 302, "a clinic user must not list users in Django admin"
    assert b"couns_a" not in listing.content
    change = http.get(f"/admin/accounts/user/{target.pk}/change/")
    assert change.status_code == 302 and b"couns_a" not in change.content
    http.post(
        f"/admin/accounts/user/{target.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    target.refresh_from_db()
    assert target.check_password(PASSWORD), "a clinic user set another clinic's password"
    assert http.get("/admin/").status_code == 302
    assert "admin_access" in _actions(user=user, outcome="denied")


def test_a_clinic_admin_with_superuser_flags_of_the_same_clinic_gets_no_django_admin(
    world: World,
) -> None:
    world.admin.is_staff = world.admin.is_superuser = True
    world.admin.save()
    assert logged_in(world.admin).get("/admin/accounts/user/").status_code == 302


def test_platform_operator_uses_django_admin(world: World) -> None:
    http = logged_in(_operator())
    response = http.get("/admin/accounts/user/")
    assert response.status_code == 200 and b"couns_a" in response.content


def test_user_form_offers_no_admin_flags(world: World) -> None:
    http = logged_in(_operator())
    form = http.get(f"/admin/accounts/user/{world.counselor.pk}/change/").content
    assert b'name="role"' in form
    for flag in (b'name="is_superuser"', b'name="is_staff"', b'name="user_permissions"'):
        assert flag not in form, flag


# --- Issue 11, defect 8: Django-admin reads, password changes and deletions are audited ------


def test_django_admin_reads_password_changes_and_deletions_are_audited(world: World) -> None:
    operator = _operator()
    http = logged_in(operator)
    target = make_user("leaver", Role.COUNSELOR, world.clinic, None)
    assert http.get("/admin/accounts/user/").status_code == 200
    assert http.get(f"/admin/accounts/user/{target.pk}/change/").status_code == 200
    changed = http.post(
        f"/admin/accounts/user/{target.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert changed.status_code == 302
    deleted = http.post(f"/admin/accounts/user/{target.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not User.objects.filter(pk=target.pk).exists()
    events = AuditEvent.objects.filter(user=operator).order_by("id")
    rows = [(e.action, e.object_type, e.object_id, e.outcome) for e in events]
    assert ("admin_list", "user", "", "ok") in rows
    for action in ("admin_read", "admin_password_change", "admin_delete"):
        assert (action, "user", str(target.pk), "ok") in rows, (action, rows)
    # the target's clinic sees the operator's access in its own audit log
    assert events.filter(action="admin_read").get().clinic_id_ref == world.clinic.pk


def test_django_admin_bulk_deletion_is_audited_per_object(world: World) -> None:
    operator = _operator()
    team = Team.objects.create(clinic=world.clinic, name="Short-lived")
    response = logged_in(operator).post(
        "/admin/accounts/team/",
        {"action": "delete_selected", "_selected_action": [str(team.pk)], "post": "yes"},
    )
    assert response.status_code == 302 and not Team.objects.filter(pk=team.pk).exists()
    event = AuditEvent.objects.get(user=operator, action="admin_bulk_delete_selected")
    assert (event.object_type, event.object_id) == ("team", str(team.pk))
    assert event.clinic_id_ref == world.clinic.pk


def test_anonymous_admin_requests_go_to_login(world: World) -> None:
    assert HttpClient().get("/admin/accounts/user/").status_code == 302
