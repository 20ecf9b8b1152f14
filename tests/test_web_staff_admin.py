"""Who administers what: Django admin is for platform operators only; clinic admins manage their
own clinic's staff, teams and instruments in the app, scoped to their clinic and audited."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client as HttpClient

from alliance.web.accounts.models import Role, Team, User
from alliance.web.audit.models import AuditEvent

from .web_fixtures import PASSWORD, World, logged_in, make_user, operator_client

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
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
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
    http = operator_client(_operator())
    response = http.get("/admin/accounts/user/")
    assert response.status_code == 200 and b"couns_a" in response.content


def test_user_form_offers_no_admin_flags(world: World) -> None:
    http = operator_client(_operator())
    form = http.get(f"/admin/accounts/user/{world.counselor.pk}/change/").content
    assert b'name="role"' in form
    for flag in (b'name="is_superuser"', b'name="is_staff"', b'name="user_permissions"'):
        assert flag not in form, flag


# --- Issue 11, defect 8: Django-admin reads, password changes and deletions are audited ------


def test_django_admin_reads_password_changes_and_deletions_are_audited(world: World) -> None:
    operator = _operator()
    http = operator_client(operator)
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
    response = operator_client(operator).post(
        "/admin/accounts/team/",
        {"action": "delete_selected", "_selected_action": [str(team.pk)], "post": "yes"},
    )
    assert response.status_code == 302 and not Team.objects.filter(pk=team.pk).exists()
    event = AuditEvent.objects.get(user=operator, action="admin_bulk_delete_selected")
    assert (event.object_type, event.object_id) == ("team", str(team.pk))
    assert event.clinic_id_ref == world.clinic.pk


def test_operators_user_form_keeps_teams_in_their_clinic_and_clears_old_flags(
    world: World,
) -> None:
    counselor = world.counselor
    counselor.is_staff = counselor.is_superuser = True  # as an older demo left its admins
    counselor.save()
    url = f"/admin/accounts/user/{counselor.pk}/change/"
    form = {
        "username": counselor.username,
        "role": Role.COUNSELOR,
        "clinic": world.clinic.pk,
        "team": Team.objects.get(clinic=world.other_clinic).pk,
        "is_active": "on",
    }
    http = operator_client(_operator())
    refused = http.post(url, form)
    assert refused.status_code == 200 and b"This team belongs to another clinic." in refused.content
    assert http.post(url, form | {"team": _north(world).pk}).status_code == 302
    counselor.refresh_from_db()
    assert not counselor.is_staff and not counselor.is_superuser
    assert counselor.team == _north(world)


def test_anonymous_admin_requests_go_to_login(world: World) -> None:
    assert HttpClient().get("/admin/accounts/user/").status_code == 302


def test_operator_command_creates_platform_operators(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("alliance")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DATABASE"))}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ops.sqlite3'}",
        "ALLIANCE_WEB_DIR": str(tmp_path),
        "ALLIANCE_DATA_DIR": str(tmp_path / "data"),
    }

    def run(*args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), "operator", *args],
            env=env | extra,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = run("create", "ops1", ALLIANCE_OPERATOR_PASSWORD=NEW_PASSWORD)
    assert made.returncode == 0 and "operator ops1 created" in made.stdout, made.stderr
    again = run("create", "OPS1", ALLIANCE_OPERATOR_PASSWORD=NEW_PASSWORD)
    assert again.returncode == 2 and "error: the login name 'OPS1' is taken" in again.stderr
    weak = run("create", "ops2", stdin="short1\nshort1\n")  # prompted, hidden, confirmed
    assert weak.returncode == 2 and "too short" in weak.stderr and "Traceback" not in weak.stderr
    assert run("list").stdout.splitlines() == ["ops1\tactive"]


# --- Clinic administration in the app (/manage/) ---------------------------------------------

ROUTES = [  # (url name, object it acts on, method)
    ("manage:staff", None, "GET"),
    ("manage:staff_new", None, "GET"),
    ("manage:staff_new", None, "POST"),
    ("manage:staff_detail", "user", "GET"),
    ("manage:staff_role", "user", "POST"),
    ("manage:staff_active", "user", "POST"),
    ("manage:staff_password", "user", "POST"),
    ("manage:teams", None, "GET"),
    ("manage:teams", None, "POST"),
    ("manage:team_rename", "team", "POST"),
    ("manage:instruments", None, "GET"),
    ("manage:instruments", None, "POST"),
    ("manage:instrument_update", "item", "POST"),
]
WHO = ["admin", "other_clinic_admin", "supervisor", "counselor", "anonymous"]


def _north(world: World) -> Team:
    team = world.counselor.team
    assert team is not None
    return team


def _post_data(world: World, name: str) -> dict[str, Any]:
    north = _north(world).pk
    return {
        "manage:staff_new": {
            "username": "newbie",
            "role": Role.COUNSELOR,
            "team": north,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
        "manage:staff_role": {"role": Role.SUPERVISOR, "team": north},
        "manage:staff_active": {"active": "0"},
        "manage:staff_password": {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        "manage:teams": {"name": "East"},
        "manage:team_rename": {"name": "Northern"},
        "manage:instruments": {"instrument": "phq9", "timing": "discharge"},
        "manage:instrument_update": {"order": "7"},
    }[name]


def _url(world: World, name: str, target: str | None) -> str:
    from django.urls import reverse

    if target is None:
        return reverse(name)
    pk = {
        "user": world.counselor.pk,
        "team": _north(world).pk,
        "item": world.clinic.instruments.get(instrument="gad7").pk,
    }[target]
    return reverse(name, args=[pk])


def _http(world: World, who: str) -> tuple[HttpClient, User | None]:
    if who == "anonymous":
        return HttpClient(), None
    if who == "other_clinic_admin":
        user = make_user("admin_b", Role.ADMIN, world.other_clinic, None)
    else:
        user = world.user(who)
    return logged_in(user), user


def _clinic_a_state(world: World) -> tuple[Any, ...]:
    counselor = User.objects.get(pk=world.counselor.pk)
    gad7 = world.clinic.instruments.get(instrument="gad7")
    return (
        counselor.role,
        counselor.is_active,
        counselor.password,
        _north(world).__class__.objects.get(pk=_north(world).pk).name,
        Team.objects.filter(clinic=world.clinic).count(),
        User.objects.filter(clinic=world.clinic).count(),
        (gad7.enabled, gad7.order),
        world.clinic.instruments.count(),
    )


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("name", "target", "method"), ROUTES)
def test_permission_matrix(
    world: World, who: str, name: str, target: str | None, method: str
) -> None:
    """Only a clinic admin changes their own clinic: others get 403, another clinic's admin 404
    on this clinic's objects, anonymous the login page; refusals are audited."""
    http, user = _http(world, who)
    url = _url(world, name, target)
    before = _clinic_a_state(world)
    if method == "GET":
        response = http.get(url)
    else:
        data = _post_data(world, name)
        if who == "other_clinic_admin" and "team" in data:  # a team of their own clinic
            data["team"] = Team.objects.get(clinic=world.other_clinic).pk
        response = http.post(url, data)
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif who in ("supervisor", "counselor") or (who == "other_clinic_admin" and target):
        assert response.status_code == (403 if who != "other_clinic_admin" else 404)
        assert AuditEvent.objects.filter(user=user, outcome="denied").exists()
    else:
        assert response.status_code == (200 if method == "GET" else 302), response.content[:300]
    changed = _clinic_a_state(world) != before
    assert changed == (who == "admin" and method == "POST"), "only this clinic's admin changes it"
    if who == "other_clinic_admin" and method == "GET" and name == "manage:staff":
        assert b"couns_a" not in response.content and b"admin_b" in response.content


def test_admin_adds_a_counselor_who_then_signs_in(world: World) -> None:
    from django.urls import reverse

    http = logged_in(world.admin)
    response = http.post(reverse("manage:staff_new"), _post_data(world, "manage:staff_new"))
    newbie = User.objects.get(username="newbie")
    assert response.status_code == 302 and response["Location"].endswith(f"/{newbie.pk}/")
    assert (newbie.clinic, newbie.team, newbie.role) == (world.clinic, _north(world), "counselor")
    event = AuditEvent.objects.get(action="staff_create", outcome="ok")
    assert (event.user, event.object_id, event.clinic_id_ref) == (
        world.admin,
        str(newbie.pk),
        world.clinic.pk,
    )
    browser = HttpClient()
    login = browser.post(
        reverse("accounts:login"), {"username": "newbie", "password": NEW_PASSWORD}
    )
    assert login.status_code == 302
    assert browser.get(reverse("dashboard:caseload")).status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1", b"too short"), ("password123", b"too common"), (None, b"differ")],
)
def test_a_new_staff_members_password_is_validated(
    world: World, password: str | None, message: bytes
) -> None:
    from django.urls import reverse

    data = _post_data(world, "manage:staff_new")
    if password is None:
        data["password2"] += "x"
    else:
        data["password1"] = data["password2"] = password
    response = logged_in(world.admin).post(reverse("manage:staff_new"), data)
    assert response.status_code == 200 and message in response.content
    assert b'value="newbie"' in response.content, "what was typed is kept"
    assert not User.objects.filter(username="newbie").exists()
    assert AuditEvent.objects.filter(action="staff_create", outcome="invalid").exists()


def test_a_taken_login_name_is_refused(world: World) -> None:
    from django.urls import reverse

    data = _post_data(world, "manage:staff_new") | {"username": "COUNS_X"}  # another clinic's
    response = logged_in(world.admin).post(reverse("manage:staff_new"), data)
    assert b"That login name is taken." in response.content


def test_a_clinic_admin_cannot_grant_admin_flags(world: World) -> None:
    from django.urls import reverse

    http = logged_in(world.admin)
    flags = {"is_superuser": "on", "is_staff": "on", "clinic": world.other_clinic.pk}
    http.post(reverse("manage:staff_new"), _post_data(world, "manage:staff_new") | flags)
    roles = _post_data(world, "manage:staff_role") | flags
    http.post(reverse("manage:staff_role", args=[world.counselor.pk]), roles)
    for user in (User.objects.get(username="newbie"), User.objects.get(pk=world.counselor.pk)):
        assert not user.is_superuser and not user.is_staff and user.clinic == world.clinic
        assert logged_in(user).get("/admin/").status_code == 302


def test_a_team_of_another_clinic_cannot_be_chosen(world: World) -> None:
    from django.urls import reverse

    far = Team.objects.get(clinic=world.other_clinic)
    data = {"role": Role.COUNSELOR, "team": far.pk}
    url = reverse("manage:staff_role", args=[world.counselor.pk])
    response = logged_in(world.admin).post(url, data)
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert User.objects.get(pk=world.counselor.pk).team == _north(world)


def test_counselors_and_supervisors_need_a_team(world: World) -> None:
    from django.urls import reverse

    url = reverse("manage:staff_role", args=[world.counselor.pk])
    response = logged_in(world.admin).post(url, {"role": Role.SUPERVISOR, "team": ""})
    assert response.status_code == 200 and b"belong to a team" in response.content


def test_password_reset_ends_the_targets_sessions(world: World) -> None:
    from django.urls import reverse

    counselor = logged_in(world.counselor)
    assert counselor.get(reverse("dashboard:caseload")).status_code == 200
    admin = logged_in(world.admin)
    url = reverse("manage:staff_password", args=[world.counselor.pk])
    response = admin.post(url, _post_data(world, "manage:staff_password"))
    assert response.status_code == 302
    assert counselor.get(reverse("dashboard:caseload")).status_code == 302, "session must end"
    assert admin.get(reverse("manage:staff")).status_code == 200, "the admin stays signed in"
    assert User.objects.get(pk=world.counselor.pk).check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="staff_password_reset")
    assert (event.object_id, event.outcome) == (str(world.counselor.pk), "ok")


def test_an_admin_resetting_their_own_password_stays_signed_in(world: World) -> None:
    from django.urls import reverse

    here, elsewhere = logged_in(world.admin), logged_in(world.admin)
    url = reverse("manage:staff_password", args=[world.admin.pk])
    here.post(url, _post_data(world, "manage:staff_password"))
    assert here.get(reverse("manage:staff")).status_code == 200
    assert elsewhere.get(reverse("manage:staff")).status_code == 302


def test_deactivation_ends_sessions_and_reactivation_restores_access(world: World) -> None:
    from django.urls import reverse

    counselor = logged_in(world.counselor)
    admin = logged_in(world.admin)
    url = reverse("manage:staff_active", args=[world.counselor.pk])
    admin.post(url, {"active": "0"})
    assert counselor.get(reverse("dashboard:caseload")).status_code == 302
    assert b"Deactivated" in admin.get(reverse("manage:staff")).content
    admin.post(url, {"active": "1"})
    assert User.objects.get(pk=world.counselor.pk).is_active
    actions = _actions(user=world.admin, outcome="ok")
    assert "staff_deactivate" in actions and "staff_reactivate" in actions


def test_an_admin_cannot_deactivate_or_demote_themselves(world: World) -> None:
    from django.urls import reverse

    http = logged_in(world.admin)
    response = http.post(reverse("manage:staff_active", args=[world.admin.pk]), {"active": "0"})
    assert b"cannot deactivate yourself" in http.get(response["Location"]).content
    url = reverse("manage:staff_role", args=[world.admin.pk])
    http.post(url, {"role": Role.SUPERVISOR, "team": _north(world).pk})
    admin = User.objects.get(pk=world.admin.pk)
    assert admin.is_active and admin.is_clinic_admin
    assert set(_actions(outcome="refused")) == {"staff_deactivate", "staff_role_change"}


def test_the_clinics_last_active_admin_cannot_be_removed(world: World) -> None:
    """Two admins removing each other at once: the second change finds no other admin."""
    from alliance.web.accounts.services import StaffRefused, change_role, set_active

    second = make_user("admin_a2", Role.ADMIN, world.clinic, None)
    stale_second = User.objects.get(pk=second.pk)
    set_active(world.admin, second, False)
    with pytest.raises(StaffRefused, match="last active admin"):
        set_active(stale_second, world.admin, False)
    with pytest.raises(StaffRefused, match="last active admin"):
        change_role(stale_second, world.admin, Role.COUNSELOR, _north(world))
    assert User.objects.get(pk=world.admin.pk).is_active


@pytest.mark.django_db(transaction=True)
def test_two_admins_deactivating_each_other_at_once_leave_one_active(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race is exercised on PostgreSQL")
    from django.urls import reverse

    second = make_user("admin_a2", Role.ADMIN, world.clinic, None)
    pairs = [(logged_in(world.admin), second), (logged_in(second), world.admin)]
    barrier = threading.Barrier(2)

    def deactivate(http: HttpClient, target: User) -> None:
        try:
            barrier.wait(timeout=30)
            http.post(reverse("manage:staff_active", args=[target.pk]), {"active": "0"})
        finally:
            connection.close()

    threads = [threading.Thread(target=deactivate, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    active = User.objects.filter(clinic=world.clinic, role=Role.ADMIN, is_active=True)
    assert active.count() == 1
    assert _actions(action="staff_deactivate", outcome="ok") == ["staff_deactivate"]


def test_another_admin_can_be_demoted_while_one_remains(world: World) -> None:
    from django.urls import reverse

    second = make_user("admin_a2", Role.ADMIN, world.clinic, None)
    url = reverse("manage:staff_role", args=[second.pk])
    logged_in(world.admin).post(url, {"role": Role.COUNSELOR, "team": _north(world).pk})
    assert User.objects.get(pk=second.pk).role == Role.COUNSELOR
    assert "staff_role_change" in _actions(user=world.admin, outcome="ok")


def test_teams_are_added_and_renamed_with_unique_names(world: World) -> None:
    from django.urls import reverse

    http = logged_in(world.admin)
    assert http.post(reverse("manage:teams"), {"name": "East"}).status_code == 302
    duplicate = http.post(reverse("manage:teams"), {"name": "east"})
    assert duplicate.status_code == 200 and b"already has a team" in duplicate.content
    north = _north(world)
    http.post(reverse("manage:team_rename", args=[north.pk]), {"name": "Northern"})
    assert Team.objects.get(pk=north.pk).name == "Northern"
    assert {"team_create", "team_rename"} <= set(_actions(user=world.admin, outcome="ok"))


def test_the_instrument_plan_decides_new_episodes(world: World) -> None:
    from django.urls import reverse

    from alliance.web.clinic.services import create_client

    http = logged_in(world.admin)
    gad7 = world.clinic.instruments.get(instrument="gad7", timing="before_session")
    http.post(reverse("manage:instrument_update", args=[gad7.pk]), {"order": "9"})  # off
    http.post(reverse("manage:instruments"), {"instrument": "phq9", "timing": "discharge"})
    again = http.post(reverse("manage:instruments"), {"instrument": "phq9", "timing": "discharge"})
    assert again.status_code == 200 and b"already in the plan" in again.content
    page = http.get(reverse("manage:instruments")).content.decode()
    assert "At discharge" in page and f'id="enabled-{gad7.pk}"' in page
    client = create_client(world.clinic, world.counselor, "New One")
    episode = client.current_episode()
    assert episode is not None
    plan = list(episode.plan.values_list("instrument", "timing"))
    assert ("gad7", "before_session") not in plan and ("phq9", "discharge") in plan
    assert _actions(action="instrument_plan_change", outcome="ok") == ["instrument_plan_change"] * 2


def test_only_clinic_admins_see_the_manage_link(world: World) -> None:
    from django.urls import reverse

    link = b'href="/manage/staff/"'
    assert link in logged_in(world.admin).get(reverse("dashboard:caseload")).content
    for who in ("supervisor", "counselor"):
        assert link not in logged_in(world.user(who)).get(reverse("dashboard:caseload")).content
    assert (
        b'href="/admin/"' not in logged_in(world.admin).get(reverse("dashboard:caseload")).content
    )
    operator_page = operator_client(_operator()).get(reverse("dashboard:caseload")).content
    assert b'href="/admin/"' in operator_page and link not in operator_page


def test_demo_clinic_admin_is_a_clinic_user_without_admin_flags(db: Any) -> None:
    from alliance.web.demo import _staff

    users = _staff(PASSWORD)
    admin = users["admin"]
    assert admin.is_clinic_admin and not admin.is_staff and not admin.is_superuser
    assert logged_in(admin).get("/manage/staff/").status_code == 200
    assert logged_in(admin).get("/admin/").status_code == 302


def test_a_staff_members_page_offers_the_two_factor_reset(world: World) -> None:
    reverse_url = f"/accounts/staff/{world.counselor.pk}/two-factor/reset/"
    page = logged_in(world.admin).get(f"/manage/staff/{world.counselor.pk}/").content.decode()
    assert reverse_url in page
    own = logged_in(world.admin).get(f"/manage/staff/{world.admin.pk}/").content.decode()
    assert f"/accounts/staff/{world.admin.pk}/two-factor/reset/" not in own
