"""Transcripts are client data: every lookup goes through the clinic's permission layer."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from alliance.web.audit.log import record
from alliance.web.clinic.access import clients_visible_to, get_client_for
from alliance.web.clinic.models import Session
from alliance.web.transcripts.models import Transcript


def get_session_for(
    user: Any, pk: Any, request: HttpRequest, *, write: bool, action: str
) -> Session:
    """The session ``pk`` if its client is visible (and changeable when ``write``), audited."""
    session = _visible(
        Session.objects.select_related("episode__client"), "episode__client", user, pk
    )
    if session is None:
        record(request, action, object_type="session", object_id=pk, outcome="denied")
        raise Http404("No such session")
    get_client_for(user, session.episode.client_id, request, write=write, action=action)
    return session


def get_transcript_for(
    user: Any,
    pk: Any,
    request: HttpRequest,
    *,
    write: bool = False,
    action: str = "transcript_view",
) -> Transcript:
    """The transcript ``pk`` if its client is visible (and changeable when ``write``), audited."""
    queryset = Transcript.objects.select_related("session__episode__client__clinic")
    transcript = _visible(queryset, "session__episode__client", user, pk)
    if transcript is None:
        record(request, action, object_type="transcript", object_id=pk, outcome="denied")
        raise Http404("No such transcript")
    get_client_for(user, transcript.session.episode.client_id, request, write=write, action=action)
    record(request, action, transcript, clinic_id=transcript.session.episode.client.clinic_id)
    return transcript


def _visible(queryset: Any, client_path: str, user: Any, pk: Any) -> Any:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        return None
    if not 0 < key < 2**63:
        return None
    return queryset.filter(**{f"{client_path}__in": clients_visible_to(user)}, pk=key).first()
