"""Client feedback links: a long random token, stored only as its SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from alliance.web.clinic.models import Channel, Session


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class FeedbackLink(models.Model):
    """One single-use, expiring invitation to answer the session's measures.

    Answers between pages (one instrument per page) stay in each browser's own session
    (``feedback.drafts``), never on the shared link; on the final submit they become
    Administrations and ``used_at`` is set inside one transaction.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    instruments = models.JSONField(default=list)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.LINK)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Link #{self.pk}"

    @property
    def expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def state(self) -> str:
        if self.used_at is not None:
            return "used"
        return "expired" if self.expired else "open"
