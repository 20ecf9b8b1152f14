"""Who may see and change which client: the one place object-level permissions live.

A counselor sees their own clients, a supervisor their team's, a clinic admin the whole clinic
(read only); nobody sees another clinic. Every view (and later the API) fetches client data
through ``get_for``: an unknown id, or one of data the user may not see, is a 404 (so ids reveal
nothing); a client the user may read but not change is a 403 on writes. Denials and accesses
are written to the audit trail.
"""

from __future__ import annotations

from typing import NoReturn, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest

from alliance.web.accounts.http import AuthenticatedHttpRequest
from alliance.web.accounts.models import User
from alliance.web.audit.log import record
from alliance.web.clinic.models import Client, Episode

M = TypeVar("M", bound=Model)

# How each kind of client data reaches its client (``Model._meta.model_name`` -> lookup path).
CLIENT_PATHS = {
    "client": "",
    "episode": "client",
    "session": "episode__client",
    "measureplanitem": "episode__client",
    "alert": "client",
    "transcript": "session__episode__client",
    "recording": "session__episode__client",
}

_MAX_ID = 2**63  # ids beyond a bigint are unknown, not a database error


def clients_visible_to(user: User) -> QuerySet[Client]:
    """The clients ``user`` may read."""
    if not user.is_authenticated or user.clinic_id is None:
        return Client.objects.none()
    base = Client.objects.filter(clinic_id=user.clinic_id)
    if user.is_clinic_admin:
        return base
    if user.is_supervisor and user.team_id is not None:
        return base.filter(Q(counselor__team_id=user.team_id) | Q(counselor=user))
    return base.filter(counselor=user)


def episodes_visible_to(user: User) -> QuerySet[Episode]:
    """The episodes of the clients ``user`` may read (for overviews such as the outcomes page,
    which aggregate many clients' episodes and must never reach past this scope)."""
    return Episode.objects.filter(client__in=clients_visible_to(user))


def can_change(user: User, client: Client) -> bool:
    """Counselors change their own clients, supervisors their team's; admins only read."""
    if user.is_clinic_admin:
        return False
    return clients_visible_to(user).filter(pk=client.pk).exists()


def get_for(
    request: AuthenticatedHttpRequest,
    model: type[M],
    pk: object,
    *,
    write: bool = False,
    action: str = "view",
) -> M:
    """The ``model`` row ``pk`` (a client or data of one) if the user may read its client, and
    change it when ``write``. Unknown or hidden: 404, audited against the id asked for; read
    only: 403, audited against the client; otherwise the access is audited against the client."""
    object_type = model._meta.model_name
    path = CLIENT_PATHS[object_type]
    found = _visible(model, path, request.user, pk)
    if found is None:
        not_found(request, action, object_type, pk)
    client = client_of(found)
    if write and not can_change(request.user, client):
        record(request, action, client, outcome="denied")
        raise PermissionDenied("read only")
    record(request, action, client)
    return found


def client_of(obj: Model) -> Client:
    """The client that ``obj`` (any model of ``CLIENT_PATHS``) belongs to."""
    for part in filter(None, CLIENT_PATHS[obj._meta.model_name].split("__")):
        obj = getattr(obj, part)
    assert isinstance(obj, Client)
    return obj


def not_found(request: HttpRequest, action: str, object_type: str, pk: object) -> NoReturn:
    """Audit a denied lookup of ``object_type`` ``pk`` and answer 404."""
    record(request, action, object_type=object_type, object_id=pk, outcome="denied")
    raise Http404(f"No such {object_type}")


def _visible(model: type[M], path: str, user: User, pk: object) -> M | None:
    """One query: the row, if its id is sane and its client is among those ``user`` may read."""
    try:
        key = int(pk)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if not 0 < key < _MAX_ID:
        return None
    clients = clients_visible_to(user)
    if not path:
        found: M | None = clients.filter(pk=key).first()
        return found
    rows = model._default_manager.select_related(f"{path}__clinic")
    return rows.filter(**{f"{path}__in": clients}, pk=key).first()


def clients_for_research(user: User, clinic_id: int) -> QuerySet[Client]:
    """Every client of the clinic, for a de-identified research export: only that clinic's
    admins and platform operators may make one (it spans every caseload); others are denied."""
    allowed = user.is_active and (
        (user.is_clinic_admin and user.clinic_id == clinic_id) or user.is_platform_operator
    )
    if not allowed:
        raise PermissionDenied("research exports are for the clinic's admins and operators")
    return Client.objects.filter(clinic_id=clinic_id)
