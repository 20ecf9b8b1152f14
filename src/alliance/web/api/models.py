"""Personal access tokens for the REST API.

Only a SHA-256 digest of each token is stored. The token is 256 bits from ``secrets``, so a
fast unsalted hash is enough: nobody can guess a preimage, and unlike a password it is never
reused elsewhere; a slow hash (argon2) would only slow every API call for no gain. The
digest is unique and looked up directly, so no secret is ever compared in Python.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What a token may do: ``read`` only GETs; ``write`` also the changes the user may make."""

    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiToken(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80, blank=True, default="")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    #: The first characters of the token, shown so its owner can tell tokens apart.
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"API token {self.prefix}… ({self.scope})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > timezone.now() else "expired"
