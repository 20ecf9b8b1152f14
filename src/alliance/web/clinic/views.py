"""Changes to a clinic's clients: new clients, sessions, episode measure plans and a returning
client's new episode (discharge, which also makes the satisfaction link, is ``feedback.staff``).
Every lookup goes through ``clinic.access.get_for``; every change is audited."""

from __future__ import annotations

from typing import TypeVar

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page, staff_post
from alliance.web.audit.log import record
from alliance.web.clinic.access import get_for
from alliance.web.clinic.forms import ClientForm, PlanItemForm, SessionForm
from alliance.web.clinic.models import Client, Episode, MeasurePlanItem, Session, SessionStatus
from alliance.web.clinic.services import (
    EpisodeRefused,
    create_client,
    next_session,
    open_episode,
)

F = TypeVar("F", bound=forms.Form)


def _sessions_page(client: Client) -> HttpResponse:
    return redirect("dashboard:sessions", pk=client.pk)


def _episode_form(
    request: AuthenticatedHttpRequest, pk: int, form_class: type[F], action: str
) -> tuple[Client, Episode | None, F]:
    """The client (changeable, audited), its open episode and the posted form; the episode is
    None when there is none or the form is invalid, which the caller answers with 400."""
    client = get_for(request, Client, pk, write=True, action=action)
    form = form_class(request.POST)
    episode = client.current_episode()
    return client, episode if form.is_valid() else None, form


def _form_error(
    request: AuthenticatedHttpRequest, context: dict[str, object], status: int = 400
) -> HttpResponse:
    return render(request, "form_error.html", context, status=status)


@staff_page
@require_http_methods(["GET", "POST"])
def client_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if user.is_clinic_admin or user.clinic_id is None:
        record(request, "client_create", object_type="client", outcome="denied")
        raise PermissionDenied("Only counselors and supervisors take on clients.")
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = create_client(user.clinic, user, **form.cleaned_data)
        record(request, "client_create", client)
        return redirect("dashboard:client", pk=client.pk)
    return render(request, "clinic/client_new.html", {"form": form})


@staff_post
def session_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    client, episode, form = _episode_form(request, pk, SessionForm, "session_create")
    if episode is None:
        return _form_error(request, {"form": form})
    data = form.cleaned_data
    session = next_session(
        episode,
        data["date"],
        data["status"],
        starts_at=data["starts_at"],
        duration_minutes=data["duration_minutes"] or 50,
    )
    record(request, "session_create", session, clinic_id=client.clinic_id)
    return _sessions_page(client)


@staff_post
def session_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    session = get_for(request, Session, pk, write=True, action="session_update")
    client = session.episode.client
    status = request.POST.get("status", "")
    if status not in SessionStatus.values:
        return _form_error(request, {"form": None})
    session.status = status
    session.save(update_fields=["status"])
    record(request, "session_update", session, clinic_id=client.clinic_id)
    return _sessions_page(client)


@staff_post
def plan_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Add an instrument and timing to the current episode's measure plan."""
    client, episode, form = _episode_form(request, pk, PlanItemForm, "plan_update")
    if episode is None:
        return _form_error(request, {"form": form})
    item, _ = MeasurePlanItem.objects.get_or_create(
        episode=episode,
        instrument=form.cleaned_data["instrument"],
        timing=form.cleaned_data["timing"],
        defaults={"order": episode.plan.count()},
    )
    record(request, "plan_update", item, object_type="measureplanitem", clinic_id=client.clinic_id)
    return _sessions_page(client)


@staff_post
def plan_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_for(request, MeasurePlanItem, pk, write=True, action="plan_update")
    client = item.episode.client
    record(request, "plan_update", item, object_type="measureplanitem", clinic_id=client.clinic_id)
    item.delete()
    return _sessions_page(client)


@staff_post
def episode_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A returning client: start a new episode once the last one is discharged."""
    client = get_for(request, Client, pk, write=True, action="episode_open")
    try:
        episode = open_episode(client)
    except EpisodeRefused as exc:
        record(request, "episode_open", client, outcome="refused")
        return _form_error(request, {"message": str(exc)}, status=409)
    record(request, "episode_open", episode, clinic_id=client.clinic_id)
    return _sessions_page(client)
