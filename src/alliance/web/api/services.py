"""Issuing, checking, revoking and rate-limiting personal access tokens."""

from __future__ import annotations

import datetime
import hashlib
import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from alliance.web.accounts.models import Throttle, User
from alliance.web.api.models import ApiToken, Scope

#: Every token starts with this, so a leaked one is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "alliance_"
#: Characters of the token kept in clear for display: the marker and 6 random characters.
SHOWN = len(TOKEN_PREFIX) + 6
DEFAULT_DAYS = 90
#: The rate limit counts calls per token in fixed windows of this many seconds.
WINDOW_SECONDS = 60
#: The window in which ``ALLIANCE_API_REFUSED_PER_ADDRESS`` refused tokens are counted.
BAD_TOKEN_WINDOW_SECONDS = 600


class TokenError(ValueError):
    """A token request the rules refuse (bad scope, lifetime, or user)."""


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # shown once, never stored


def digest(secret: str) -> str:
    """The stored form of a token (see ``models`` for why plain SHA-256 suffices)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(user: User, scope: str, *, days: int = DEFAULT_DAYS, name: str = "") -> Issued:
    """A new token for ``user``; its secret is returned here and nowhere else."""
    if scope not in Scope.values:
        raise TokenError(f"scope must be one of {', '.join(Scope.values)}")
    limit = settings.ALLIANCE_API_TOKEN_MAX_DAYS
    if not 1 <= days <= limit:
        raise TokenError(f"a token lasts 1 to {limit} days")
    if not user.is_active or user.clinic_id is None:
        raise TokenError("only active clinic staff get API tokens")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        owner=user,
        name=name.strip()[:80],
        scope=scope,
        prefix=secret[:SHOWN],
        digest=digest(secret),
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    return Issued(token, secret)


def find(secret: str) -> ApiToken | None:
    """The token with this secret (usable or not), with its owner; None if there is none."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return ApiToken.objects.select_related("owner").filter(digest=digest(secret)).first()


def revoke(token: ApiToken) -> bool:
    """Revoke ``token`` now; False if it already was."""
    done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return done == 1


def count_call(token: ApiToken) -> int:
    """Count one call in the token's window, mark the token used, and return the count.

    The count is the app's database ``Throttle`` (the login and link limits' counter), so every
    server process shares it, and each concurrent call gets its own number."""
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return Throttle.hit(_window_key(token), WINDOW_SECONDS)


def retry_after(token: ApiToken) -> int:
    """Seconds until the token's current window ends (for ``Retry-After``)."""
    key = _window_key(token)
    started = Throttle.objects.filter(key=key).values_list("window_start", flat=True).first()
    ends = (started or timezone.now()) + datetime.timedelta(seconds=WINDOW_SECONDS)
    return max(1, math.ceil((ends - timezone.now()).total_seconds()))


def _window_key(token: ApiToken) -> str:
    return f"api-token:{token.pk}"


def count_refusal(ip: str | None) -> int:
    """Count one refused token from ``ip`` in its window, and return the count.

    Tokens are unguessable, so only a broken or hostile client sends many; past
    ``ALLIANCE_API_REFUSED_PER_ADDRESS`` the caller answers 429 and stops auditing them, so they
    cannot fill the audit trail (the feedback links' rule, ``feedback.services._budget``)."""
    return Throttle.hit(f"api-refused:{ip or 'unknown'}", BAD_TOKEN_WINDOW_SECONDS)
