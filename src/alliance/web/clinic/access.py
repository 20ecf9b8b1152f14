"""Who may see and change which client: the one place object-level permissions live.

A counselor sees their own clients, a supervisor their team's, a clinic admin the whole clinic
(read only); nobody sees another clinic. Every denial is a 404 (so ids reveal nothing) or a 403
for a known client the user may read but not change, and is written to the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from alliance.web.accounts.models import Role
from alliance.web.audit.log import record
from alliance.web.clinic.models import Client


def clients_visible_to(user: Any) -> QuerySet[Client]:
    """The clients ``user`` may read."""
    if not user.is_authenticated or user.clinic_id is None:
        return Client.objects.none()
    base = Client.objects.filter(clinic_id=user.clinic_id)
    if user.role == Role.ADMIN:
        return base
    if user.role == Role.SUPERVISOR and user.team_id is not None:
        return base.filter(Q(counselor__team_id=user.team_id) | Q(counselor=user))
    return base.filter(counselor=user)


def can_change(user: Any, client: Client) -> bool:
    """Counselors change their own clients, supervisors their team's; admins only read."""
    if user.role == Role.ADMIN:
        return False
    return clients_visible_to(user).filter(pk=client.pk).exists()


def get_client_for(
    user: Any, pk: Any, request: HttpRequest, *, write: bool = False, action: str = "view"
) -> Client:
    """The client ``pk`` if ``user`` may read it (and change it when ``write``), audited."""
    try:
        client = clients_visible_to(user).get(pk=int(pk))
    except (Client.DoesNotExist, ValueError, TypeError):
        record(request, action, object_type="client", object_id=pk, outcome="denied")
        raise Http404("No such client") from None
    if write and not can_change(user, client):
        record(request, action, client, outcome="denied")
        raise PermissionDenied("read only")
    record(request, action, client)
    return client
