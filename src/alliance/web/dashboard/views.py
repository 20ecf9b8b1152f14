"""Counselor and supervisor pages, read only: changes live in ``clinic``, ``alerts``,
``feedback`` and ``transcripts``. Every client lookup goes through ``clinic.access``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page
from alliance.web.accounts.models import Role
from alliance.web.alerts.forms import AckForm
from alliance.web.audit.log import record
from alliance.web.audit.models import HEAD_PK, AuditChainHead, AuditEvent
from alliance.web.clinic.access import can_change, clients_visible_to, get_for, not_found
from alliance.web.clinic.forms import EndingForm, PlanItemForm, SessionForm
from alliance.web.clinic.models import Client, Episode
from alliance.web.clinic.services import expire_overdue
from alliance.web.dashboard.summaries import (
    alerts_for_page,
    caseload_entries,
    caseload_rows,
    histories,
    measures_of_sessions,
    team_rows,
)
from alliance.web.dashboard.worklist import PERIODS, completion, pending_sessions, work_items
from alliance.web.transcripts.forms import UploadForm
from alliance.web.transcripts.recordings import open_recordings
from alliance.web.transcripts.services import transcripts_by_session
from alliance.web.transcripts.summaries import NO_SKILLS, client_skill_series, counselor_skills

#: Caseload rows per page: the clients needing attention come first, the rest page.
CASELOAD_PAGE = 50


@staff_page
def caseload(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The visible clients, most in need of attention first, a page at a time; ``q`` finds
    clients whose name (or a word of it) starts with it."""
    expire_overdue()
    search = request.GET.get("q", "").strip()[:100]
    entries = caseload_entries(clients_visible_to(request.user), search)
    page = Paginator(entries, CASELOAD_PAGE).get_page(request.GET.get("page"))
    rows = caseload_rows(list(page.object_list))
    record(request, "caseload_view", object_type="caseload")
    context = {"rows": rows, "page": page, "q": search, "total": len(entries)}
    return render(request, "dashboard/caseload.html", context)


@staff_page
def worklist(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Due today: each visible client's latest session up to today without a completed
    measure, with its invitation's state and the buttons to send one (counselors and
    supervisors; a clinic admin sees everyone's, read only)."""
    expire_overdue()
    pending = pending_sessions(clients_visible_to(request.user))
    page = Paginator(pending, CASELOAD_PAGE).get_page(request.GET.get("page"))
    record(request, "worklist_view", object_type="worklist")
    items = work_items(list(page.object_list))
    context = {"items": items, "page": page, "total": len(pending)}
    return render(request, "dashboard/worklist.html", context)


def _client_context(
    request: AuthenticatedHttpRequest, pk: int, episode_id: str | None = None
) -> dict[str, object]:
    """The client, and the episode shown: the current one unless ``episode_id`` picks an
    earlier one of this client's (session numbers, charts and alerts are per episode)."""
    client = get_for(request, Client, pk)
    expire_overdue()
    episodes = list(client.episodes.order_by(*Episode.NEWEST_FIRST))
    episode = episodes[0] if episodes else None
    if episode_id:
        episode = next((e for e in episodes if str(e.pk) == episode_id), None)
        if episode is None:
            not_found(request, "view", "episode", episode_id)
    is_current = bool(episodes) and episode == episodes[0]
    sessions = list(episode.sessions.all()) if episode else []
    alerts = alerts_for_page(client)
    return {
        "client": client,
        "episode": episode,
        "episodes": episodes,
        "is_current": is_current,
        "editable": is_current and can_change(request.user, client),
        "episode_query": "" if is_current or episode is None else f"?episode={episode.pk}",
        "sessions": sessions,
        "histories": histories(episode) if episode else [],
        "alerts": [a for a in alerts if a.is_open],
        "earlier_alerts": [a for a in alerts if not a.is_open],
        "session_form": SessionForm(initial={"date": timezone.localdate()}),
        "plan_form": PlanItemForm(),
        "ending_form": EndingForm(),
        "plan": list(episode.plan.all()) if episode else [],
        "ack_form": AckForm(),
    }


@staff_page
def client_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    context = _client_context(request, pk, request.GET.get("episode"))
    episode = context["episode"]
    sessions, skills = client_skill_series(episode) if episode else ([], [])
    context["skills"] = skills
    context["skill_rows"] = [(s, [(n, s.value_at(n)) for n in sessions]) for s in skills]
    context["skill_sessions"] = sessions
    return render(request, "dashboard/client.html", context)


@staff_page
def sessions_page(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Sessions of the current episode, with their transcripts and the upload form."""
    context = _client_context(request, pk, request.GET.get("episode"))
    prefetch_related_objects(context["sessions"], measures_of_sessions())
    context["transcripts"] = transcripts_by_session(context["sessions"])
    context["recordings"] = open_recordings(context["sessions"])
    context["upload_form"] = UploadForm()
    return render(request, "dashboard/sessions.html", context)


@staff_page
def team(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Supervisors see their team; clinic admins every counselor in the clinic."""
    user = request.user
    staff = get_user_model().objects.filter(clinic_id=user.clinic_id, is_active=True)
    if user.is_supervisor:
        staff = staff.filter(team_id=user.team_id) if user.team_id else staff.filter(pk=user.pk)
    elif not user.is_clinic_admin:
        record(request, "team_view", object_type="team", outcome="denied")
        raise PermissionDenied("Supervisors only")
    staff = staff.filter(role__in=[Role.COUNSELOR, Role.SUPERVISOR]).order_by("username")
    record(request, "team_view", object_type="team", object_id=user.team_id or "")
    team = team_rows(staff)
    skills = counselor_skills(row.counselor.pk for row in team)
    rows = [(row, skills.get(row.counselor.pk, NO_SKILLS)) for row in team]
    days = _period(request.GET.get("days"))
    invitations = completion([row.counselor for row in team], days)
    context = {"rows": rows, "invitations": invitations, "days": days, "periods": PERIODS}
    return render(request, "dashboard/team.html", context)


def _period(raw: str | None) -> int:
    """The completion period asked for, one of ``PERIODS`` (30 days otherwise)."""
    return int(raw) if raw in {str(p) for p in PERIODS} else 30


@staff_page
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The clinic's audit trail, newest first; clinic admins only."""
    if not request.user.is_clinic_admin:
        record(request, "audit_view", object_type="audit", outcome="denied")
        raise PermissionDenied("Clinic admins only")
    record(request, "audit_view", object_type="audit")  # first, so the page count includes it
    events = AuditEvent.objects.filter(clinic_id_ref=request.user.clinic_id)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    head = AuditChainHead.objects.filter(pk=HEAD_PK).first()  # one row: verifying is the CLI's job
    return render(request, "dashboard/audit.html", {"page": page, "head": head})
