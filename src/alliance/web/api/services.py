"""Issuing, checking, revoking and rate-limiting personal access tokens."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from alliance.web.accounts.models import User
from alliance.web.api.models import ApiToken, Scope

#: Every token starts with this, so a leaked one is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "alliance_"
#: Characters of the token kept in clear for display: the marker and 6 random characters.
SHOWN = len(TOKEN_PREFIX) + 6
DEFAULT_DAYS = 90
#: The rate limit counts calls per token in fixed windows of this many seconds.
WINDOW_SECONDS = 60


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


def count_call(token: ApiToken) -> int | None:
    """Count one call against the token's fixed window and mark it used. Returns None while
    under the limit, else the seconds until the window ends (for ``Retry-After``).

    One UPDATE both starts a new window and counts in the current one, so processes serving
    the same token at once each add exactly one call; the row stays locked until this call has
    read its own count back, so exactly the limit's worth of calls get through."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    rows = ApiToken.objects.filter(pk=token.pk)
    with transaction.atomic():
        rows.update(
            window_calls=Case(When(window=window, then=F("window_calls") + 1), default=Value(1)),
            window=window,
            last_used_at=timezone.now(),
        )
        calls = rows.values_list("window_calls", flat=True).first()
    if calls is not None and calls > settings.ALLIANCE_API_RATE_LIMIT:
        return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
    return None
