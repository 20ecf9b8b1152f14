"""``record()``: the one way views write to the audit trail."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from alliance.web.audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """The peer address (proxies are trusted only through the server's own configuration)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    request: HttpRequest | None,
    action: str,
    obj: Any = None,
    *,
    object_type: str = "",
    object_id: Any = "",
    outcome: str = "ok",
    clinic_id: int | None = None,
) -> AuditEvent:
    """Append one event. ``obj`` supplies type and id; no field values are ever stored.

    The event is hash-chained to the one before (``AuditEvent.save``). Inside a caller's
    transaction the chain lock is held until that transaction ends, so call this last there."""
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and not user.is_authenticated:
        user = None
    if obj is not None:
        object_type = object_type or type(obj).__name__.lower()
        object_id = object_id or obj.pk
        clinic_id = clinic_id or _clinic_of(obj)
    if clinic_id is None and user is not None:
        clinic_id = user.clinic_id
    match = getattr(request, "resolver_match", None) if request is not None else None
    return AuditEvent.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        clinic_id_ref=clinic_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:40],
        outcome=outcome,
        ip=client_ip(request),
        route=(match.view_name if match else "")[:100],
    )


def _clinic_of(obj: Any) -> int | None:
    for path in ("clinic_id", "client.clinic_id", "episode.client.clinic_id"):
        value: Any = obj
        try:
            for part in path.split("."):
                value = getattr(value, part)
        except AttributeError:
            continue
        return int(value) if value is not None else None
    return None
