"""The outcomes page (what the clinic's, team's or counselor's work achieves) and one episode's
printable summary. Scope comes from ``clinic.access`` only; every view is audited."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page
from alliance.web.accounts.models import Team, User
from alliance.web.audit.log import record
from alliance.web.clinic.access import clients_visible_to, episodes_visible_to, get_for
from alliance.web.clinic.models import Episode
from alliance.web.clinic.services import registry
from alliance.web.outcomes.data import load
from alliance.web.outcomes.forms import DEFAULT_DAYS, DEFAULT_INSTRUMENT, OutcomesFilter
from alliance.web.outcomes.report import Counselor, build, instruments_to_load
from alliance.web.outcomes.summary import episode_summary_context


@staff_page
def outcomes_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Closed episodes of the clients the user may read, filtered; per-counselor rows for
    supervisors and clinic admins."""
    user = request.user
    if user.clinic_id is None:
        record(request, "outcomes_view", object_type="outcomes", outcome="denied")
        raise PermissionDenied("Clinic staff only")
    reg = registry()
    counselors = _counselors(user)
    form = OutcomesFilter(
        _with_defaults(request.GET.dict(), timezone.localdate()),
        teams=_teams(user),
        counselors=[(pk, c.username) for pk, c in counselors.items()],
        registry=reg,
        today=timezone.localdate(),
    )
    if not form.is_valid():
        record(request, "outcomes_view", object_type="outcomes", outcome="refused")
        return render(request, "outcomes/page.html", {"form": form}, status=400)
    chosen = form.cleaned_data
    episodes = episodes_visible_to(user).filter(
        closed_on__gte=chosen["start"], closed_on__lte=chosen["end"]
    )
    if chosen["team"] is not None:
        episodes = episodes.filter(client__counselor__team_id=chosen["team"])
    if chosen["counselor"] is not None:
        episodes = episodes.filter(client__counselor_id=chosen["counselor"])
    instrument = reg.get(chosen["instrument"])
    cohort = load(episodes, instruments_to_load(instrument.id, reg))
    per_counselor = counselors if user.is_supervisor or user.is_clinic_admin else None
    report = build(cohort, instrument, reg, per_counselor)
    record(request, "outcomes_view", object_type="outcomes", object_id=_scope(user, chosen))
    return render(request, "outcomes/page.html", {"form": form, "report": report})


def _with_defaults(given: dict[str, str], today: datetime.date) -> dict[str, str]:
    """The filters asked for, and the defaults for the rest, so the form shows what is shown."""
    defaults = {
        "start": (today - datetime.timedelta(days=DEFAULT_DAYS)).isoformat(),
        "end": today.isoformat(),
        "instrument": DEFAULT_INSTRUMENT,
    }
    return defaults | {k: v for k, v in given.items() if v}


def _teams(user: User) -> list[tuple[int, str]]:
    """Clinic admins filter by any team of the clinic, supervisors by their own."""
    if user.is_clinic_admin:
        teams = Team.objects.filter(clinic_id=user.clinic_id)
    elif user.is_supervisor and user.team_id is not None:
        teams = Team.objects.filter(pk=user.team_id)
    else:
        return []
    return list(teams.order_by("name").values_list("pk", "name"))


def _counselors(user: User) -> dict[int, Counselor]:
    """The staff whose clients the user may read (a counselor: only themselves), by name."""
    owners = User.objects.filter(clients__in=clients_visible_to(user)).distinct()
    rows = owners.order_by("username").values_list("pk", "username", "team_id", "team__name")
    return {pk: Counselor(name, team, team_name or "") for pk, name, team, team_name in rows}


def _scope(user: User, chosen: dict[str, object]) -> str:
    """What the audit row names: the narrowest filter applied (ids only)."""
    if chosen["counselor"] is not None:
        return f"counselor:{chosen['counselor']}"
    if chosen["team"] is not None:
        return f"team:{chosen['team']}"
    return "own" if user.is_counselor else "all visible"


@staff_page
def episode_summary(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One episode's outcome, alliance and satisfaction, to print or save as PDF."""
    episode = get_for(request, Episode, pk, action="episode_summary")
    return render(request, "outcomes/summary.html", episode_summary_context(episode))
