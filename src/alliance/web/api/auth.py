"""Bearer-token authentication for the API, with the per-token rate limit.

The API reads no session cookie, so a browser's session can neither call it nor be made to
(no CSRF surface). A valid token makes ``request.user`` its owner, so every lookup goes through
``alliance.web.clinic.access`` exactly as the owner's pages do."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja.security import HttpBearer

from alliance.web.accounts.http import AuthenticatedHttpRequest
from alliance.web.api import actions
from alliance.web.api.models import ApiToken, Scope
from alliance.web.api.services import count_call, find
from alliance.web.audit.log import record


class RateLimited(Exception):
    """Too many calls in this window; ``retry_after`` seconds until the next one."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limit reached")
        self.retry_after = retry_after


class WriteScopeRequired(Exception):
    """A read-only token asked for a change."""


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        """The usable token (audited as ``denied`` otherwise); counts the call."""
        found = find(token)
        if found is None or not found.is_usable or not found.owner.is_active:
            object_id: Any = found.pk if found is not None else ""
            record(
                request, actions.AUTH, object_type="apitoken", object_id=object_id, outcome="denied"
            )
            return None
        request.user = found.owner
        wait = count_call(found)
        if wait is not None:
            record(request, actions.AUTH, found, outcome="rate_limited")
            raise RateLimited(wait)
        return found


def staff(request: HttpRequest) -> AuthenticatedHttpRequest:
    """The request typed as the token owner's (``TokenAuth`` set its user)."""
    return cast(AuthenticatedHttpRequest, request)


def require_write(request: HttpRequest, action: str) -> None:
    """Refuse (403, audited) a change asked with a read-only token."""
    token = cast(ApiToken, getattr(request, "auth", None))
    if token.scope != Scope.WRITE:
        record(request, action, object_type="apitoken", object_id=token.pk, outcome="denied")
        raise WriteScopeRequired
