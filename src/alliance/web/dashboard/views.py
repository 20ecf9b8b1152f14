"""Counselor and supervisor pages. Every client lookup goes through ``clinic.access``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from alliance.web.accounts.models import Role
from alliance.web.alerts.models import Alert
from alliance.web.alerts.services import acknowledge
from alliance.web.audit.log import record
from alliance.web.audit.models import HEAD_PK, AuditChainHead, AuditEvent
from alliance.web.clinic.access import can_change, clients_visible_to, get_client_for
from alliance.web.clinic.models import Episode, MeasurePlanItem, Session, SessionStatus, Timing
from alliance.web.clinic.services import (
    EpisodeRefused,
    close_episode,
    create_client,
    expire_overdue,
    next_session,
    open_episode,
    registry,
)
from alliance.web.dashboard.summaries import alerts_for_page, histories, team_rows
from alliance.web.dashboard.summaries import caseload as caseload_rows
from alliance.web.transcripts.services import transcripts_by_session
from alliance.web.transcripts.summaries import client_skill_series, counselor_skills
from alliance.web.transcripts.views import UploadForm


class ClientForm(forms.Form):
    display_name = forms.CharField(label="Display name or initials", max_length=100, strip=True)
    external_id = forms.CharField(label="External id (optional)", max_length=100, required=False)


class SessionForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(choices=SessionStatus.choices, initial=SessionStatus.SCHEDULED)


class PlanItemForm(forms.Form):
    instrument = forms.ChoiceField(choices=())
    timing = forms.ChoiceField(choices=Timing.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ready = [(i.id, i.short_title) for i in registry().all() if i.has_text]
        self.fields["instrument"].choices = ready


class AckForm(forms.Form):
    note = forms.CharField(
        label="Note", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), strip=True
    )


@login_required
@never_cache
def caseload(request: HttpRequest) -> HttpResponse:
    expire_overdue()
    rows = caseload_rows(clients_visible_to(request.user))
    record(request, "caseload_view", object_type="caseload")
    return render(request, "dashboard/caseload.html", {"rows": rows})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def client_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.role == Role.ADMIN or user.clinic_id is None:
        record(request, "client_create", object_type="client", outcome="denied")
        raise PermissionDenied("Only counselors and supervisors take on clients.")
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = create_client(user.clinic, user, **form.cleaned_data)
        record(request, "client_create", client)
        return redirect("dashboard:client", pk=client.pk)
    return render(request, "dashboard/client_new.html", {"form": form})


def _client_context(
    request: HttpRequest, pk: int, episode_id: str | None = None
) -> dict[str, object]:
    """The client, and the episode shown: the current one unless ``episode_id`` picks an
    earlier one of this client's (session numbers, charts and alerts are per episode)."""
    client = get_client_for(request.user, pk, request)
    expire_overdue()
    episodes = list(client.episodes.order_by(*Episode.NEWEST_FIRST))
    episode = episodes[0] if episodes else None
    if episode_id:
        episode = next((e for e in episodes if str(e.pk) == episode_id), None)
        if episode is None:
            record(request, "view", object_type="episode", object_id=episode_id, outcome="denied")
            raise Http404("No such episode")
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
        "plan": list(episode.plan.all()) if episode else [],
        "ack_form": AckForm(),
    }


@login_required
@never_cache
def client_page(request: HttpRequest, pk: int) -> HttpResponse:
    context = _client_context(request, pk, request.GET.get("episode"))
    episode = context["episode"]
    sessions, skills = client_skill_series(episode) if episode else ([], [])
    context["skills"] = skills
    context["skill_rows"] = [(s, [(n, s.value_at(n)) for n in sessions]) for s in skills]
    context["skill_sessions"] = sessions
    return render(request, "dashboard/client.html", context)


@login_required
@never_cache
def sessions_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Sessions of the current episode, with their transcripts and the upload form."""
    context = _client_context(request, pk, request.GET.get("episode"))
    context["transcripts"] = transcripts_by_session(context["sessions"])
    context["upload_form"] = UploadForm()
    return render(request, "dashboard/sessions.html", context)


@login_required
@never_cache
@require_POST
def session_new(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_client_for(request.user, pk, request, write=True, action="session_create")
    form = SessionForm(request.POST)
    episode = client.current_episode()
    if not form.is_valid() or episode is None:
        return render(request, "dashboard/form_error.html", {"form": form}, status=400)
    session = next_session(episode, form.cleaned_data["date"], form.cleaned_data["status"])
    record(request, "session_create", session, clinic_id=client.clinic_id)
    return redirect("dashboard:sessions", pk=client.pk)


@login_required
@never_cache
@require_POST
def plan_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add an instrument and timing to the current episode's measure plan."""
    client = get_client_for(request.user, pk, request, write=True, action="plan_update")
    form = PlanItemForm(request.POST)
    episode = client.current_episode()
    if not form.is_valid() or episode is None:
        return render(request, "dashboard/form_error.html", {"form": form}, status=400)
    item, _ = MeasurePlanItem.objects.get_or_create(
        episode=episode,
        instrument=form.cleaned_data["instrument"],
        timing=form.cleaned_data["timing"],
        defaults={"order": episode.plan.count()},
    )
    record(request, "plan_update", item, object_type="measureplanitem", clinic_id=client.clinic_id)
    return redirect("dashboard:sessions", pk=client.pk)


@login_required
@never_cache
@require_POST
def plan_remove(request: HttpRequest, pk: int) -> HttpResponse:
    item = MeasurePlanItem.objects.select_related("episode").filter(pk=pk).first()
    if item is None:
        record(
            request, "plan_update", object_type="measureplanitem", object_id=pk, outcome="denied"
        )
        raise Http404("No such plan item")
    client = get_client_for(
        request.user, item.episode.client_id, request, write=True, action="plan_update"
    )
    record(request, "plan_update", item, object_type="measureplanitem", clinic_id=client.clinic_id)
    item.delete()
    return redirect("dashboard:sessions", pk=client.pk)


@login_required
@never_cache
@require_POST
def episode_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Discharge: close the current episode; links made afterwards add discharge measures."""
    client = get_client_for(request.user, pk, request, write=True, action="episode_close")
    episode = client.current_episode()
    if episode is not None and close_episode(episode):
        record(request, "episode_close", episode, clinic_id=client.clinic_id)
    return redirect("dashboard:sessions", pk=client.pk)


@login_required
@never_cache
@require_POST
def episode_open(request: HttpRequest, pk: int) -> HttpResponse:
    """A returning client: start a new episode once the last one is discharged."""
    client = get_client_for(request.user, pk, request, write=True, action="episode_open")
    try:
        episode = open_episode(client)
    except EpisodeRefused as exc:
        record(request, "episode_open", client, outcome="refused")
        return render(request, "dashboard/form_error.html", {"message": str(exc)}, status=409)
    record(request, "episode_open", episode, clinic_id=client.clinic_id)
    return redirect("dashboard:sessions", pk=client.pk)


@login_required
@never_cache
@require_POST
def session_status(request: HttpRequest, pk: int) -> HttpResponse:
    session = Session.objects.select_related("episode").filter(pk=pk).first()
    if session is None:
        record(request, "session_update", object_type="session", object_id=pk, outcome="denied")
        raise Http404("No such session")
    client = get_client_for(
        request.user, session.episode.client_id, request, write=True, action="session_update"
    )
    status = request.POST.get("status", "")
    if status not in SessionStatus.values:
        return render(request, "dashboard/form_error.html", {"form": None}, status=400)
    session.status = status
    session.save(update_fields=["status"])
    record(request, "session_update", session, clinic_id=client.clinic_id)
    return redirect("dashboard:sessions", pk=client.pk)


@login_required
@never_cache
@require_POST
def alert_ack(request: HttpRequest, pk: int) -> HttpResponse:
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None:
        record(request, "alert_ack", object_type="alert", object_id=pk, outcome="denied")
        raise Http404("No such alert")
    client = get_client_for(request.user, alert.client_id, request, write=True, action="alert_ack")
    form = AckForm(request.POST)
    if not form.is_valid():
        return render(request, "dashboard/form_error.html", {"form": form}, status=400)
    done = acknowledge(alert, request.user, form.cleaned_data["note"])
    record(
        request,
        "alert_ack",
        alert,
        clinic_id=client.clinic_id,
        outcome="ok" if done else "not_open",
    )
    return redirect("dashboard:client", pk=client.pk)


@login_required
@never_cache
def team(request: HttpRequest) -> HttpResponse:
    """Supervisors see their team; clinic admins every counselor in the clinic."""
    user = request.user
    staff = get_user_model().objects.filter(clinic_id=user.clinic_id, is_active=True)
    if user.role == Role.SUPERVISOR:
        staff = staff.filter(team_id=user.team_id) if user.team_id else staff.filter(pk=user.pk)
    elif user.role != Role.ADMIN:
        record(request, "team_view", object_type="team", outcome="denied")
        raise PermissionDenied("Supervisors only")
    staff = staff.filter(role__in=[Role.COUNSELOR, Role.SUPERVISOR]).order_by("username")
    record(request, "team_view", object_type="team", object_id=user.team_id or "")
    rows = [(row, counselor_skills(row.counselor)) for row in team_rows(staff)]
    return render(request, "dashboard/team.html", {"rows": rows})


@login_required
@never_cache
def audit_log(request: HttpRequest) -> HttpResponse:
    """The clinic's audit trail, newest first; clinic admins only."""
    if request.user.role != Role.ADMIN:
        record(request, "audit_view", object_type="audit", outcome="denied")
        raise PermissionDenied("Clinic admins only")
    record(request, "audit_view", object_type="audit")  # first, so the page count includes it
    events = AuditEvent.objects.filter(clinic_id_ref=request.user.clinic_id)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    head = AuditChainHead.objects.filter(pk=HEAD_PK).first()  # one row: verifying is the CLI's job
    return render(request, "dashboard/audit.html", {"page": page, "head": head})
