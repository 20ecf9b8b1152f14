"""Upload a transcript to a session, follow its analysis, read the report, delete it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alliance.core.transcripts import presentation
from alliance.core.transcripts.packs import RESEARCH_LABEL, RESEARCH_OFF_NOTE, strip_research
from alliance.web.accounts.http import AuthenticatedHttpRequest
from alliance.web.audit.log import record
from alliance.web.clinic.access import can_change, get_for
from alliance.web.clinic.models import AdministrationStatus, Session
from alliance.web.clinic.services import registry
from alliance.web.limits import MAX_FILE_IN_MEMORY
from alliance.web.transcripts.access import get_transcript_for
from alliance.web.transcripts.forms import UploadForm
from alliance.web.transcripts.models import research_pack_on
from alliance.web.transcripts.services import (
    MAX_UPLOAD_BYTES,
    UploadError,
    delete_transcript,
    report_of,
    retry_analysis,
    store_upload,
)

#: Utterance rows per page of the report, so a long session gives pages of bounded size.
PAGE_ROWS = 200
#: Utterances quoted under each metric; the rest are in the table.
EVIDENCE_SHOWN = 20

CODE_FILTERS = {
    "reflection": ("therapist_behaviour", "reflection"),
    "complex": ("reflection", "complex"),
    "simple": ("reflection", "simple"),
    "question": ("therapist_behaviour", "question"),
    "open": ("question", "open"),
    "closed": ("question", "closed"),
    "therapist_input": ("therapist_behaviour", "therapist_input"),
    "other": ("therapist_behaviour", "other"),
    "change": ("client_talk", "change"),
    "neutral": ("client_talk", "neutral"),
    "sustain": ("client_talk", "sustain"),
}


@login_required
@never_cache
@require_POST
def upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    pk = request.POST.get("session")
    session = get_for(request, Session, pk, write=True, action="transcript_upload")
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid() and int(request.META.get("CONTENT_LENGTH") or 0) > MAX_FILE_IN_MEMORY:
        # the file part was dropped unread (settings.FILE_UPLOAD_HANDLERS): name the limit
        return _upload_error(
            request, session, f"the file is over the limit of {MAX_UPLOAD_BYTES:,} bytes"
        )
    if not form.is_valid():
        return _upload_error(request, session, "choose a transcript file to upload")
    upload_file = form.cleaned_data["file"]
    if upload_file.size > MAX_UPLOAD_BYTES:  # refuse before reading a huge file into memory
        return _upload_error(
            request,
            session,
            f"the file is {upload_file.size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,}",
        )
    try:
        transcript = store_upload(
            session,
            request.user,
            upload_file.read(),
            upload_file.name,
            form.cleaned_data["counselor"],
        )
    except UploadError as exc:
        return _upload_error(request, session, str(exc))
    record(request, "transcript_upload", transcript, clinic_id=session.episode.client.clinic_id)
    return redirect("transcripts:detail", pk=transcript.pk)


def _upload_error(request: HttpRequest, session: Session, message: str) -> HttpResponse:
    """A clear page naming the problem; the rejected attempt is audited (without the file)."""
    record(
        request,
        "transcript_upload",
        session,
        outcome="rejected",
        clinic_id=session.episode.client.clinic_id,
    )
    context = {"session": session, "client": session.episode.client, "message": message}
    return render(request, "transcripts/upload_error.html", context, status=400)


@login_required
@never_cache
def detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    transcript = get_transcript_for(request.user, pk, request)
    report = report_of(transcript)
    client = transcript.session.episode.client
    research = bool(report and report.get("research")) and research_pack_on(client.clinic_id)
    if report and not research:  # the pack is off now, or was when this was analysed
        report = strip_research(report)
    code = request.GET.get("code", "")
    rows = Paginator(_filtered(report["utterances"], code) if report else [], PAGE_ROWS)
    page = rows.get_page(request.GET.get("page"))
    context = {
        "transcript": transcript,
        "client": client,
        "session": transcript.session,
        "research": research,
        "packs_note": RESEARCH_LABEL if research else RESEARCH_OFF_NOTE,
        "report": report,
        "metrics": presentation.metric_rows(report, EVIDENCE_SHOWN) if report else [],
        "rows": page,
        "page": page,
        "code": code if code in CODE_FILTERS else "",
        "codes": [(c, presentation.code_name(c)) for c in CODE_FILTERS],
        "legend": presentation.legend(),
        "alliance": _alliance_scores(transcript.session),
        "may_retry": transcript.can_retry and can_change(request.user, transcript.client),
    }
    return render(request, "transcripts/detail.html", context)


def _filtered(rows: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    if code not in CODE_FILTERS:
        return rows
    column, value = CODE_FILTERS[code]
    return [r for r in rows if r.get(column) == value]


def _alliance_scores(session: Session) -> list[dict[str, Any]]:
    """The client's own alliance ratings of this session, to show beside the skill feedback."""
    found = []
    for administration in session.administrations.filter(status=AdministrationStatus.COMPLETED):
        instrument = registry().get(administration.instrument)
        if instrument.alliance is not None and administration.total is not None:
            found.append(
                {
                    "title": instrument.short_title,
                    "total": administration.total,
                    "cutoff": instrument.alliance.cutoff,
                    "below": instrument.alliance.cutoff is not None
                    and administration.total < instrument.alliance.cutoff,
                }
            )
    return found


@login_required
@never_cache
@require_POST
def delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    transcript = get_transcript_for(
        request.user, pk, request, write=True, action="transcript_delete"
    )
    client_pk = transcript.session.episode.client_id
    outcome = delete_transcript(transcript)
    record(
        request,
        "transcript_delete",
        object_type="transcript",
        object_id=pk,
        outcome=outcome,
        clinic_id=transcript.session.episode.client.clinic_id,
    )
    return redirect("dashboard:sessions", pk=client_pk)


@login_required
@never_cache
@require_POST
def retry(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Queue a failed or stalled analysis again (only for those who may change the client)."""
    transcript = get_transcript_for(
        request.user, pk, request, write=True, action="transcript_retry"
    )
    queued = retry_analysis(transcript)
    record(
        request,
        "transcript_retry",
        transcript,
        outcome="ok" if queued else "refused",
        clinic_id=transcript.session.episode.client.clinic_id,
    )
    return redirect("transcripts:detail", pk=transcript.pk)
