"""Two-factor pages: enrolment, the user's own security page, the clinic policy and the admin's
reset of a colleague's two-factor (lost phone). Every change is audited (ids only)."""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from alliance.web.accounts import two_factor
from alliance.web.accounts.models import Clinic, Role, Throttle, TotpDevice, User
from alliance.web.accounts.views import LOCKED_MESSAGE
from alliance.web.audit.log import record

#: Set in the session by a password re-check on the security page: re-enrolment may start.
REENROL_KEY = "two_factor_reenrol"
REENROL_SECONDS = 600
#: An enrolment secret not confirmed within this time is replaced by a fresh one.
ENROL_SECONDS = 1800
WRONG_PASSWORD = "That password is not right."
ENROL_WRONG_CODE = "That code does not match. Check the phone's clock and enter the newest code."


class CodeForm(forms.Form):
    code = forms.CharField(max_length=10, strip=True, label="6-digit code from the app")


class PolicyForm(forms.Form):
    roles = forms.MultipleChoiceField(choices=Role.choices, required=False)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if ok else reverse(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the secret), then confirm with a code before it is active."""
    user: User = request.user
    if two_factor.is_enrolled(user) and not _reenrol_allowed(request):
        return redirect("accounts:two_factor")
    device = two_factor.pending_device(user)
    if device is None or time.time() - device.created_at.timestamp() > ENROL_SECONDS:
        if request.method == "POST":  # the page was left open too long: show a fresh secret
            return redirect(request.get_full_path())
        device = two_factor.start_enrolment(user).device
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.confirm_enrolment(device, form.cleaned_data["code"])
        if codes is not None:
            two_factor.mark_verified(request)
            request.session.pop(REENROL_KEY, None)
            record(request, "two_factor_enrol", object_type="user", object_id=user.pk)
            return _show_codes(request, codes)
        form.add_error("code", ENROL_WRONG_CODE)
        record(request, "two_factor_enrol", object_type="user", object_id=user.pk, outcome="failed")
    context = {
        "enrolment": two_factor.describe(device),
        "form": form,
        "required": two_factor.required_for(user),
        "next": _safe_next(request),
    }
    return render(request, "accounts/two_factor_enrol.html", context, status=_status(form))


def _status(form: forms.Form) -> int:
    return 400 if form.is_bound and form.errors else 200


def _reenrol_allowed(request: HttpRequest) -> bool:
    started = request.session.get(REENROL_KEY)
    return isinstance(started, float) and time.time() - started < REENROL_SECONDS


def _show_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    """The recovery codes, shown this once (the page is never cached)."""
    return render(
        request, "accounts/two_factor_codes.html", {"codes": codes, "next": _safe_next(request)}
    )


@sensitive_post_parameters("password")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """The user's own two-factor: new recovery codes, a new phone, or off (if policy allows);
    each behind a password re-check."""
    user: User = request.user
    required = two_factor.required_for(user)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        error = _recheck_password(request, user)
        if not error:
            response = _security_action(request, user, action, required)
            if response is not None:
                return response
            error = (
                "Your clinic requires two-factor sign-in for your role; it cannot be turned off."
            )
    context = {
        "enrolled": two_factor.is_enrolled(user),
        "required": required,
        "codes_left": two_factor.unused_recovery_codes(user),
        "recovery_used": request.session.pop(two_factor.RECOVERY_USED_KEY, False),
        "error": error,
    }
    return render(request, "accounts/two_factor.html", context, status=400 if error else 200)


def _recheck_password(request: HttpRequest, user: User) -> str:
    """An error message, or "" when the password is right (attempts limited like logins)."""
    key = f"recheck:{user.pk}"
    if (
        Throttle.hit(key, settings.ALLIANCE_LOGIN_LOCK_SECONDS)
        > settings.ALLIANCE_LOGIN_MAX_FAILURES
    ):
        Throttle.release(key)
        record(request, "password_recheck", object_type="user", object_id=user.pk, outcome="locked")
        return LOCKED_MESSAGE
    if not user.check_password(request.POST.get("password", "")):
        record(request, "password_recheck", object_type="user", object_id=user.pk, outcome="failed")
        return WRONG_PASSWORD
    Throttle.clear(key)
    return ""


def _security_action(
    request: HttpRequest, user: User, action: str, required: bool
) -> HttpResponse | None:
    if action == "codes" and two_factor.is_enrolled(user):
        codes = two_factor.new_recovery_codes(user)
        record(request, "two_factor_codes", object_type="user", object_id=user.pk)
        return _show_codes(request, codes)
    if action == "reenrol":
        request.session[REENROL_KEY] = time.time()
        return redirect("accounts:two_factor_enrol")
    if action == "disable" and not required:
        two_factor.remove(user)
        request.session.pop(two_factor.VERIFIED_KEY, None)
        record(request, "two_factor_disable", object_type="user", object_id=user.pk)
        return redirect("accounts:two_factor")
    if action == "disable":
        return None
    return redirect("accounts:two_factor")


def _clinic_admin(request: HttpRequest, action: str) -> Clinic:
    """The clinic of a clinic admin; anyone else is refused (audited)."""
    user: Any = request.user
    if not user.is_authenticated or user.role != Role.ADMIN or user.clinic_id is None:
        record(request, action, object_type="clinic", outcome="denied")
        raise PermissionDenied("Clinic admins only")
    clinic: Clinic = user.clinic
    return clinic


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    """The clinic's two-factor policy (which roles must use it) and who has enrolled."""
    clinic = _clinic_admin(request, "two_factor_policy")
    current = [r for r in clinic.two_factor_roles.split(",") if r]
    form = PolicyForm(request.POST or None, initial={"roles": current})
    saved = False
    if request.method == "POST" and form.is_valid():
        clinic.two_factor_roles = ",".join(
            r for r, _ in Role.choices if r in form.cleaned_data["roles"]
        )
        clinic.save(update_fields=["two_factor_roles"])
        record(request, "two_factor_policy", clinic, outcome="changed")
        current, saved = form.cleaned_data["roles"], True
    enrolled = TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)
    staff = (
        User.objects.filter(clinic=clinic, is_active=True)
        .annotate(two_factor_on=Exists(enrolled))
        .order_by("username")
    )
    context = {
        "clinic": clinic,
        "roles": [(value, label, value in current) for value, label in Role.choices],
        "staff": staff,
        "saved": saved,
        "reset_done": staff.filter(pk=_int(request.GET.get("reset"))).first(),
        "error": form.errors.get("roles") if form.is_bound else None,
    }
    return render(request, "accounts/security.html", context, status=_status(form))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """A clinic admin turns off a colleague's two-factor (lost phone); they enrol again at their
    next login if the policy requires it. Own clinic only."""
    clinic = _clinic_admin(request, "two_factor_reset")
    target = User.objects.filter(pk=user_id, clinic=clinic).first()
    if target is None:
        record(request, "two_factor_reset", object_type="user", object_id=user_id, outcome="denied")
        raise Http404("No such staff member in your clinic")
    if target.pk == request.user.pk:
        return redirect("accounts:two_factor")  # their own: with a password re-check there
    if request.method == "POST":
        two_factor.remove(target)
        record(request, "two_factor_reset", object_type="user", object_id=target.pk)
        return redirect(f"{reverse('accounts:security_policy')}?reset={target.pk}")
    context = {"target": target, "enrolled": two_factor.is_enrolled(target)}
    return render(request, "accounts/two_factor_reset.html", context)


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0
