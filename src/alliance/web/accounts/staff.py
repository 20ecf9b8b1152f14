"""Clinic administration in the app: a clinic admin manages their own clinic's staff and teams.

Everyone else gets 403; another clinic's users and teams are 404, as if they did not exist.
Every read and change is audited, refused and denied attempts too (ids only, never names).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from alliance.web.accounts import services
from alliance.web.accounts.forms import PasswordResetForm, RoleForm, StaffCreateForm, TeamForm
from alliance.web.accounts.models import Team, User
from alliance.web.audit.log import record


def require_clinic_admin(request: HttpRequest, action: str, object_type: str) -> None:
    """403 (audited) unless the user is an admin of a clinic; shared by every /manage/ page."""
    user = request.user
    if not (getattr(user, "is_clinic_admin", False) and getattr(user, "clinic_id", None)):
        record(request, action, object_type=object_type, outcome="denied")
        raise PermissionDenied("Clinic admins only")


def _member(request: HttpRequest, pk: int, action: str) -> User:
    """A staff member of the admin's own clinic, or an audited 404."""
    require_clinic_admin(request, action, "user")
    target = User.objects.filter(pk=pk, clinic_id=request.user.clinic_id).first()
    if target is None:
        record(request, action, object_type="user", object_id=pk, outcome="denied")
        raise Http404("No such staff member")
    return target


@login_required
@never_cache
def staff_list(request: HttpRequest) -> HttpResponse:
    require_clinic_admin(request, "staff_list", "user")
    record(request, "staff_list", object_type="user")
    staff = User.objects.filter(clinic_id=request.user.clinic_id).select_related("team")
    staff = staff.order_by("-is_active", "username")
    return render(request, "accounts/staff_list.html", {"staff": staff, "tab": "staff"})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    require_clinic_admin(request, "staff_create", "user")
    clinic = request.user.clinic
    form = StaffCreateForm(clinic, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_staff(clinic, **form.account())
        except services.StaffRefused as exc:  # e.g. the name was taken a moment ago
            form.add_error(None, str(exc))
        else:
            record(request, "staff_create", user)
            messages.success(request, f"{user.username} can now sign in.")
            return redirect("manage:staff_detail", pk=user.pk)
    if form.errors:
        record(request, "staff_create", object_type="user", outcome="invalid")
    return render(request, "accounts/staff_new.html", {"form": form, "tab": "staff"})


@login_required
@never_cache
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    target = _member(request, pk, "staff_view")
    record(request, "staff_view", target)
    return _detail(request, target)


def _detail(
    request: HttpRequest,
    target: User,
    role_form: RoleForm | None = None,
    password_form: PasswordResetForm | None = None,
) -> HttpResponse:
    clinic = request.user.clinic
    context = {
        "target": target,
        "is_self": target.pk == request.user.pk,
        "role_form": role_form
        or RoleForm(clinic, initial={"role": target.role, "team": target.team}),
        "password_form": password_form or PasswordResetForm(target),
        "tab": "staff",
    }
    return render(request, "accounts/staff_detail.html", context)


@login_required
@never_cache
@require_POST
def staff_role(request: HttpRequest, pk: int) -> HttpResponse:
    target = _member(request, pk, "staff_role_change")
    form = RoleForm(request.user.clinic, request.POST)
    if not form.is_valid():
        record(request, "staff_role_change", target, outcome="invalid")
        return _detail(request, target, role_form=form)
    data = form.cleaned_data
    return _apply(
        request,
        target,
        "staff_role_change",
        lambda: services.change_role(request.user, target, data["role"], data["team"]),
        "Role and team saved.",
    )


@login_required
@never_cache
@require_POST
def staff_active(request: HttpRequest, pk: int) -> HttpResponse:
    active = request.POST.get("active") == "1"
    action = "staff_reactivate" if active else "staff_deactivate"
    target = _member(request, pk, action)
    done = "reactivated" if active else "deactivated; their sessions have ended"
    return _apply(
        request,
        target,
        action,
        lambda: services.set_active(request.user, target, active),
        f"{target.username} {done}.",
    )


@login_required
@never_cache
@require_POST
def staff_password(request: HttpRequest, pk: int) -> HttpResponse:
    target = _member(request, pk, "staff_password_reset")
    form = PasswordResetForm(target, request.POST)
    if not form.is_valid():
        record(request, "staff_password_reset", target, outcome="invalid")
        return _detail(request, target, password_form=form)
    services.reset_password(target, form.cleaned_data["password1"])
    if target.pk == request.user.pk:
        update_session_auth_hash(request, target)  # keep this session, end the others
    record(request, "staff_password_reset", target)
    messages.success(request, f"New password set; {target.username}'s other sessions have ended.")
    return redirect("manage:staff_detail", pk=target.pk)


def _apply(request: HttpRequest, target: User, action: str, change: Any, done: str) -> Any:
    """Run a service change; a refusal comes back as a one-line message, audited."""
    try:
        change()
    except services.StaffRefused as exc:
        record(request, action, target, outcome="refused")
        messages.error(request, str(exc))
    else:
        record(request, action, target)
        messages.success(request, done)
    return redirect("manage:staff_detail", pk=target.pk)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def teams(request: HttpRequest) -> HttpResponse:
    action = "team_create" if request.method == "POST" else "team_list"
    require_clinic_admin(request, action, "team")
    clinic = request.user.clinic
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(clinic, form.cleaned_data["name"])
        except services.StaffRefused as exc:
            form.add_error("name", str(exc))
        else:
            record(request, action, team)
            messages.success(request, f"Team {team.name} added.")
            return redirect("manage:teams")
    record(request, action, object_type="team", outcome="invalid" if form.errors else "ok")
    rows = Team.objects.filter(clinic=clinic).order_by("name")
    rows = rows.annotate(active=Count("members", filter=Q(members__is_active=True)))
    context = {"teams": rows, "form": form, "tab": "teams"}
    return render(request, "accounts/teams.html", context)


@login_required
@never_cache
@require_POST
def team_rename(request: HttpRequest, pk: int) -> HttpResponse:
    require_clinic_admin(request, "team_rename", "team")
    team = Team.objects.filter(pk=pk, clinic_id=request.user.clinic_id).first()
    if team is None:
        record(request, "team_rename", object_type="team", object_id=pk, outcome="denied")
        raise Http404("No such team")
    form = TeamForm(request.POST)
    try:
        if not form.is_valid():
            raise services.StaffRefused(form.errors["name"][0])
        services.rename_team(team, form.cleaned_data["name"])
    except services.StaffRefused as exc:
        record(request, "team_rename", team, outcome="invalid")
        messages.error(request, f"Team not renamed: {exc}")
    else:
        record(request, "team_rename", team)
        messages.success(request, "Team renamed.")
    return redirect("manage:teams")
