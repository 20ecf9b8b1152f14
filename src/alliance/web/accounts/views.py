"""Login with lockout: repeated failures for a user name lock it for a while, audited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm

from alliance.web.accounts.models import Throttle
from alliance.web.audit.log import client_ip, record

LOCKED_MESSAGE = "Too many failed attempts. This account is locked for a while; try again later."


def _key(username: str) -> str:
    return f"login:{username.strip().lower()[:150]}"


class LockoutMixin:
    """Refuse a locked user name (or an address trying many names) before checking the password;
    count failures; audit both."""

    data: Any
    request: Any

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        window = settings.ALLIANCE_LOGIN_LOCK_SECONDS
        ip_key = f"login-ip:{client_ip(self.request) or 'unknown'}"
        if (
            Throttle.current(_key(username), window) >= settings.ALLIANCE_LOGIN_MAX_FAILURES
            or Throttle.current(ip_key, window) >= settings.ALLIANCE_LOGIN_MAX_FAILURES_PER_IP
        ):
            record(self.request, "login", object_type="user", outcome="locked")
            raise forms.ValidationError(LOCKED_MESSAGE, code="locked")
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            Throttle.hit(_key(username), window)
            Throttle.hit(ip_key, window)
            record(self.request, "login", object_type="user", outcome="failed")
            raise
        Throttle.clear(_key(username))
        return cleaned


class LockoutAuthenticationForm(LockoutMixin, AuthenticationForm):
    pass


class AdminLockoutAuthenticationForm(LockoutMixin, AdminAuthenticationForm):
    """Django admin's login shares the lockout."""


class LoginView(auth_views.LoginView):
    form_class = LockoutAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> Any:
        response = super().form_valid(form)
        record(self.request, "login", object_type="user", object_id=self.request.user.pk)
        return response
