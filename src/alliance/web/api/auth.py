"""Bearer-token authentication for the API, with the per-token rate limit.

The API reads no session cookie, so a browser's session can neither call it nor be made to
(no CSRF surface). A valid token makes ``request.user`` its owner, so every lookup goes through
``alliance.web.clinic.access`` exactly as the owner's pages do."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from alliance.web.accounts.http import AuthenticatedHttpRequest
from alliance.web.api import actions
from alliance.web.api.models import ApiToken, Scope
from alliance.web.api.services import (
    BAD_TOKEN_WINDOW_SECONDS,
    count_call,
    count_refusal,
    find,
    retry_after,
)
from alliance.web.audit.log import client_ip, record


class RateLimited(Exception):
    """Too many calls in this window; ``retry_after`` seconds until the next one."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limit reached")
        self.retry_after = retry_after


class WriteScopeRequired(Exception):
    """A read-only token asked for a change."""


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        """The usable token, counted against ``ALLIANCE_API_RATE_LIMIT`` (429 past it); else
        None (401), audited as ``denied``."""
        found = find(token)
        if found is None or not found.is_usable or not found.owner.is_active:
            _refuse(request, found)
            return None
        request.user = found.owner
        calls = count_call(found)
        limit = settings.ALLIANCE_API_RATE_LIMIT
        if calls > limit:
            if calls == limit + 1:  # one audit row per window, however hard it tries
                record(request, actions.AUTH, found, outcome="rate_limited")
            raise RateLimited(retry_after(found))
        return found


def _refuse(request: HttpRequest, found: ApiToken | None) -> None:
    """401 for a refused token, audited; past ``ALLIANCE_API_REFUSED_PER_ADDRESS`` from one
    address, 429 (one audit row saying so, then none for the rest of the window)."""
    count = count_refusal(client_ip(request))
    bound = settings.ALLIANCE_API_REFUSED_PER_ADDRESS
    if count <= bound:
        object_id: Any = found.pk if found is not None else ""
        record(request, actions.AUTH, object_type="apitoken", object_id=object_id, outcome="denied")
        return None
    if count == bound + 1:
        record(request, actions.AUTH, object_type="apitoken", outcome="too_many_refused")
    raise RateLimited(BAD_TOKEN_WINDOW_SECONDS)


def staff(request: HttpRequest) -> AuthenticatedHttpRequest:
    """The request typed as the token owner's (``TokenAuth`` set its user)."""
    return cast(AuthenticatedHttpRequest, request)


def require_write(request: HttpRequest, action: str) -> None:
    """Refuse (403, audited) a change asked with a read-only token."""
    token = cast(ApiToken, getattr(request, "auth", None))
    if token.scope != Scope.WRITE:
        record(request, action, object_type="apitoken", object_id=token.pk, outcome="denied")
        raise WriteScopeRequired
