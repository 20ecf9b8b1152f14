"""What staff views are: a request whose ``user`` is a staff ``User`` (not ``Any``), and the
decorators every such view wears."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alliance.web.accounts.models import User

View = TypeVar("View", bound=Callable[..., Any])


class AuthenticatedHttpRequest(HttpRequest):
    """A request that ``login_required`` let through (a type for views; never instantiated)."""

    user: User


def staff_page(view: View) -> View:
    """A page for signed-in staff, never cached (it carries client data)."""
    return cast(View, login_required(never_cache(view)))


def staff_post(view: View) -> View:
    """A change by signed-in staff: POST only, never cached."""
    return cast(View, login_required(never_cache(require_POST(view))))
