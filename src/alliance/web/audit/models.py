"""The append-only audit trail: who read or wrote which client record, when, from where.

Events hold ids and action names only, never names or answers, so the trail itself holds no PHI.
Updates and deletes are refused at the model and queryset level. Each event is chained to the one
before by a hash (``hashing.event_hash``); ``AuditChainHead`` is the one row that names the newest
event, and locking it serialises appends, so the chain stays linear with concurrent writers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from alliance.web.audit.hashing import FIELDS, GENESIS, event_hash

HEAD_PK = 1


class AuditImmutableError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit events cannot be deleted")

    def bulk_create(self, *args: Any, **kwargs: Any) -> Any:
        raise AuditImmutableError("audit events are appended one at a time, through record()")


class AuditEvent(models.Model):
    # Set when the event is appended, under the chain lock, so time order is chain order.
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # No database constraint and nothing done on delete: a deleted user's events keep their id.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
    )
    username = models.CharField(max_length=150, blank=True)
    clinic_id_ref = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=20, default="ok")
    ip = models.GenericIPAddressField(null=True, blank=True)
    route = models.CharField(max_length=100, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AuditImmutableError("audit events cannot be changed")
        with transaction.atomic(using=kwargs.get("using")):
            head = _locked_head(kwargs.get("using"))
            self.at = timezone.now()
            self._as_stored()
            self.prev_hash = head.hash
            self.hash = event_hash(self.prev_hash, self.chain_values())
            super().save(*args, **kwargs)
            head.hash, head.last_id = self.hash, self.pk
            head.save(update_fields=["hash", "last_id"])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit events cannot be deleted")

    def _as_stored(self) -> None:
        """Give the hashed fields the values and types they will read back with ("7" -> 7, an
        IPv6 address compressed), so the hash computed now verifies later."""
        for name in FIELDS:
            field = self._meta.get_field(name)
            value = getattr(self, field.attname)
            prepared = field.get_prep_value(value) if name == "ip" else field.to_python(value)
            setattr(self, field.attname, prepared)

    def chain_values(self) -> dict[str, Any]:
        """The fields the hash covers, by ``hashing.FIELDS`` name."""
        return {name: getattr(self, name) for name in FIELDS}

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}"


class AuditChainHead(models.Model):
    """The newest event's id and hash: one row, locked by every append.

    It lets verify notice the newest events deleted or rows added after them, and its hash is what
    an operator copies elsewhere to catch a rewrite of the whole chain."""

    last_id = models.BigIntegerField(null=True)
    hash = models.CharField(max_length=64, default=GENESIS)

    def __str__(self) -> str:
        return f"audit chain head {self.hash} (event {self.last_id})"


def _locked_head(using: str | None) -> AuditChainHead:
    """The head row, locked until the caller's transaction ends (SQLite: the IMMEDIATE
    transaction already holds the database's write lock). A missing head (new or flushed
    database) is started from the newest event; of racing starters one wins, the rest wait."""
    heads = AuditChainHead.objects.using(using).select_for_update()
    head = heads.filter(pk=HEAD_PK).first()
    if head is not None:
        return head
    tail = AuditEvent.objects.using(using).order_by("-id").values("id", "hash").first()
    try:
        with transaction.atomic(using=using):
            AuditChainHead.objects.using(using).create(
                pk=HEAD_PK,
                last_id=tail["id"] if tail else None,
                hash=tail["hash"] if tail and tail["hash"] else GENESIS,
            )
    except IntegrityError:
        pass
    return heads.get(pk=HEAD_PK)
