"""Login with lockout and a second step: repeated failures for a user name lock it for a while,
and a user with an authenticator app enrolled gives a code after the password. All audited."""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from alliance.web.accounts import two_factor
from alliance.web.accounts.models import Throttle, User
from alliance.web.audit.log import client_ip, record

LOCKED_MESSAGE = "Too many failed attempts. This account is locked for a while; try again later."
WRONG_CODE = "That code is not right, or it was already used. Try the next code from your app."
EXPIRED = "The sign-in took too long. Please enter your user name and password again."


def _key(username: str) -> str:
    return f"login:{username.strip().lower()[:150]}"


def _account(username: str) -> dict[str, Any]:
    """Audit fields for a login attempt: the account's ids when the user name exists."""
    row = User.objects.filter(username=username).values("pk", "clinic_id").first()
    if row is None:
        return {"object_type": "user"}
    return {"object_type": "user", "object_id": row["pk"], "clinic_id": row["clinic_id"]}


class LockoutMixin:
    """Reserve an attempt on the user name's and the address's counters before checking the
    password (one atomic increment each), so concurrent guesses cannot all pass the check;
    refuse past the limit. A correct password clears the name's counter; an attempt that never
    checked a password gives its reservation back. Both outcomes are audited."""

    data: Any
    request: Any

    def clean(self) -> dict[str, Any]:
        username = str(self.data.get("username", ""))
        window = settings.ALLIANCE_LOGIN_LOCK_SECONDS
        keys = (_key(username), f"login-ip:{client_ip(self.request) or 'unknown'}")
        name_count, ip_count = (Throttle.hit(key, window) for key in keys)
        if (
            name_count > settings.ALLIANCE_LOGIN_MAX_FAILURES
            or ip_count > settings.ALLIANCE_LOGIN_MAX_FAILURES_PER_IP
        ):
            _release(*keys)  # a refused attempt checked no password; the counters stay at the limit
            record(self.request, "login", outcome="locked", **_account(username))
            raise forms.ValidationError(LOCKED_MESSAGE, code="locked")
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            record(self.request, "login", outcome="failed", **_account(username))
            raise
        if getattr(self, "user_cache", None) is not None:
            Throttle.clear(keys[0])
            Throttle.release(keys[1])
        else:  # a field was missing: no password was checked
            _release(*keys)
        return cleaned


def _release(*keys: str) -> None:
    for key in keys:
        Throttle.release(key)


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class AdminLockoutAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    """Django admin's login shares the lockout (and admits staff accounts only)."""


class LoginView(auth_views.LoginView):
    """The password step. A user with two-factor enrolled is not logged in yet: the session
    remembers who passed the password, and the code step finishes the login."""

    form_class = LockoutAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if two_factor.is_enrolled(user):
            self.request.session[two_factor.PENDING_KEY] = {
                "user": user.pk,
                "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
                "next": self.get_success_url(),
                "at": time.time(),
            }
            record(self.request, "login_password", **_account(user.get_username()))
            return redirect("accounts:login_code")
        response = super().form_valid(form)
        record(self.request, "login", object_type="user", object_id=user.pk)
        return response


class AdminLoginView(LoginView):
    """``/admin/login/``: the same login (and second step), landing on Django admin."""

    form_class = AdminLockoutAuthenticationForm
    redirect_authenticated_user = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and admin.site.has_permission(request):
            return HttpResponseRedirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        return reverse("admin:index")


class CodeForm(forms.Form):
    code = forms.CharField(max_length=40, strip=True, label="Code")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app or one recovery code."""
    pending = request.session.get(two_factor.PENDING_KEY)
    user = _pending_user(pending)
    if user is None:
        request.session.pop(two_factor.PENDING_KEY, None)
        return render(request, "accounts/login_code.html", {"expired": EXPIRED}, status=400)
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        kind, error = _check_code(request, user, form.cleaned_data["code"])
        if kind:
            return _finish_login(request, user, pending, kind)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "accounts/login_code.html", {"form": form, "error": error}, status=status
    )


def _pending_user(pending: Any) -> User | None:
    if (
        not isinstance(pending, dict)
        or time.time() - pending.get("at", 0) > two_factor.PENDING_SECONDS
    ):
        return None
    return User.objects.filter(pk=pending.get("user"), is_active=True).first()


def _check_code(request: HttpRequest, user: User, code: str) -> tuple[str | None, str]:
    """Reserve an attempt (atomic), then spend the code; audited either way."""
    key = f"login-code:{user.pk}"
    ids = {"object_type": "user", "object_id": user.pk, "clinic_id": user.clinic_id}
    if (
        Throttle.hit(key, settings.ALLIANCE_LOGIN_LOCK_SECONDS)
        > settings.ALLIANCE_LOGIN_MAX_FAILURES
    ):
        Throttle.release(key)
        record(request, "login_code", outcome="locked", **ids)
        return None, LOCKED_MESSAGE
    kind = two_factor.verify(user, code)
    if kind is None:
        record(request, "login_code", outcome="failed", **ids)
        return None, WRONG_CODE
    Throttle.clear(key)
    return kind, ""


def _finish_login(
    request: HttpRequest, user: User, pending: dict[str, Any], kind: str
) -> HttpResponse:
    auth_login(request, user, backend=pending["backend"])
    request.session.pop(two_factor.PENDING_KEY, None)
    two_factor.mark_verified(request)
    record(request, "login", object_type="user", object_id=user.pk)
    if kind == "recovery":
        record(request, "recovery_code_used", object_type="user", object_id=user.pk)
        request.session[two_factor.RECOVERY_USED_KEY] = True
        return redirect("accounts:two_factor")  # says how many codes are left
    return redirect(pending["next"])
