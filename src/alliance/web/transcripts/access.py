"""Transcripts are client data: their lookups are ``alliance.web.clinic.access.get_for``.

These names stay for the callers that use them (``user`` is always ``request.user`` and is not
read); new code calls ``get_for`` directly."""

from __future__ import annotations

from alliance.web.accounts.http import AuthenticatedHttpRequest
from alliance.web.accounts.models import User
from alliance.web.audit.log import record
from alliance.web.clinic.access import get_for
from alliance.web.clinic.models import Session
from alliance.web.transcripts.models import Transcript


def get_session_for(
    user: User, pk: object, request: AuthenticatedHttpRequest, *, write: bool, action: str
) -> Session:
    """The session ``pk`` if its client is visible (and changeable when ``write``), audited."""
    return get_for(request, Session, pk, write=write, action=action)


def get_transcript_for(
    user: User,
    pk: object,
    request: AuthenticatedHttpRequest,
    *,
    write: bool = False,
    action: str = "transcript_view",
) -> Transcript:
    """The transcript ``pk`` if its client is visible (and changeable when ``write``), audited
    against the client and the transcript."""
    transcript = get_for(request, Transcript, pk, write=write, action=action)
    record(request, action, transcript, clinic_id=transcript.session.episode.client.clinic_id)
    return transcript
