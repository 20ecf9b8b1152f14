"""Two-factor enforcement on every staff page."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from alliance.web.accounts import two_factor

#: Pages a signed-in user reaches before the second factor is settled: the client's pages and
#: the tablet lock's (every ``alliance.web.middleware.TABLET_ALLOWED`` prefix: a test checks),
#: spelled out here because accounts sits below the apps and the project modules that own them.
OPEN_PATHS = (
    "/f/",
    "/tablet/",
    "/static/",
    "/healthz",
    "/accounts/login/",
    "/accounts/logout/",
    "/admin/login/",
)


class TwoFactorMiddleware:
    """A session that has not passed the second step reaches no staff page: a user with an
    authenticator enrolled must have logged in with a code (anything else is logged out), and
    a user whose clinic requires two-factor for their role must enrol first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or request.path.startswith(OPEN_PATHS)
            or two_factor.session_verified(request)
        ):
            return self.get_response(request)
        if two_factor.is_enrolled(user):
            logout(request)
            return redirect_to_login(request.get_full_path())
        enrol_url = reverse("accounts:two_factor_enrol")
        if request.path != enrol_url and two_factor.required_for(user):
            return redirect(f"{enrol_url}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
