"""Upload a session recording, follow its transcription, confirm which voice is the counselor."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import MemoryFileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from alliance.web.accounts.http import AuthenticatedHttpRequest
from alliance.web.audit.log import record
from alliance.web.clinic.access import can_change, get_for
from alliance.web.clinic.models import Session
from alliance.web.transcripts.models import Recording
from alliance.web.transcripts.recordings import (
    RecordingError,
    check_upload,
    confirm_counselor,
    speakers_of,
    store_recording,
)


class InMemoryUpload(MemoryFileUploadHandler):
    """Keep the upload in memory (Django would spill a large file to a plain temporary file on
    disk), and stop reading as soon as it passes ``limit`` bytes (the clinic's limit)."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit, self.received, self.too_large = limit, 0, False

    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        super().handle_raw_input(*args, **kwargs)
        self.activated = True

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


@login_required
@never_cache
@require_POST
@csrf_exempt  # the handler must be set before the body is read; csrf_protect runs next
def upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    clinic = request.user.clinic
    limit_mb = clinic.recording_max_mb if clinic is not None else 0
    handler = InMemoryUpload(request, limit_mb * 1_000_000)
    request.upload_handlers = [handler]
    return _upload(request, handler)


@csrf_protect
def _upload(request: AuthenticatedHttpRequest, handler: InMemoryUpload) -> HttpResponse:
    session = get_for(
        request, Session, request.POST.get("session"), write=True, action="recording_upload"
    )
    if handler.too_large:
        limit = session.episode.client.clinic.recording_max_mb
        return _error(
            request, session, f"the recording is over this clinic's limit of {limit:,} MB"
        )
    upload_file = request.FILES.get("recording")
    if upload_file is None:
        return _error(request, session, "choose a recording to upload")
    try:
        check_upload(session, upload_file.size or 0, upload_file.read(12))
        upload_file.seek(0)
        recording = store_recording(
            session, request.user, upload_file.read(), upload_file.name or ""
        )
    except RecordingError as exc:
        return _error(request, session, str(exc))
    record(request, "recording_upload", recording, clinic_id=session.episode.client.clinic_id)
    return redirect("transcripts:recording", pk=recording.pk)


def _error(request: HttpRequest, session: Session, message: str) -> HttpResponse:
    """The problem named; the rejected attempt audited (without the file); nothing stored."""
    client = session.episode.client
    record(request, "recording_upload", session, outcome="rejected", clinic_id=client.clinic_id)
    context = {"session": session, "client": client, "message": message, "what": "Recording"}
    return render(request, "transcripts/upload_error.html", context, status=400)


@login_required
@never_cache
def detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    recording = get_for(request, Recording, pk, action="recording_view")
    record(request, "recording_view", recording, clinic_id=recording.client.clinic_id)
    transcript = recording.transcript
    context = {
        "recording": recording,
        "client": recording.client,
        "session": recording.session,
        "transcript": transcript,
        "speakers": speakers_of(transcript) if transcript else [],
        "refresh": recording.is_pending or (transcript is not None and transcript.auto_refresh),
        "editable": can_change(request.user, recording.client),
    }
    return render(request, "transcripts/recording.html", context)


@login_required
@never_cache
@require_POST
def counselor(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    recording = get_for(request, Recording, pk, write=True, action="recording_counselor")
    done = confirm_counselor(recording, request.POST.get("speaker", ""))
    record(
        request,
        "recording_counselor",
        recording,
        outcome="ok" if done else "refused",
        clinic_id=recording.client.clinic_id,
    )
    return redirect("transcripts:recording", pk=recording.pk)
