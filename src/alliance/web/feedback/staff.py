"""Staff side of feedback links: create a link (URL + QR code), hand the tablet over, or
discharge (close the episode, saying how it ended, and make the satisfaction link)."""

from __future__ import annotations

import segno
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_post
from alliance.web.audit.log import record
from alliance.web.clinic.access import get_for
from alliance.web.clinic.forms import EndingForm
from alliance.web.clinic.models import Client, Session
from alliance.web.clinic.services import close_episode
from alliance.web.feedback.models import FeedbackLink
from alliance.web.feedback.services import (
    NothingToAskError,
    create_ending_link,
    create_link,
    link_instruments,
)
from alliance.web.feedback.tablet import TABLET_KEY


@staff_post
def create_link_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Show the new link once: its URL and a QR code. Only the hash is kept."""
    session = get_for(request, Session, pk, write=True, action="link_create")
    try:
        link, token = create_link(session, request.user)
    except NothingToAskError as exc:
        return render(request, "feedback/nothing.html", {"session": session, "why": str(exc)})
    record(request, "link_create", link, clinic_id=session.episode.client.clinic_id)
    return _show_link(request, link, token)


def _show_link(
    request: AuthenticatedHttpRequest, link: FeedbackLink, token: str, ending: str = ""
) -> HttpResponse:
    """The link page: URL and QR code, shown this once."""
    session = link.session
    url = request.build_absolute_uri(reverse("feedback:start", kwargs={"token": token}))
    qr = segno.make(url, error="m").svg_data_uri(scale=5, dark="#111", light="#fff")
    context = {"session": session, "client": session.episode.client, "link": link, "url": url}
    titles = [i.short_title for i in link_instruments(link)]
    context |= {"qr": qr, "titles": titles, "ending": ending}
    return render(request, "feedback/link_created.html", context)


@staff_post
def tablet_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Lock this browser to the client's questions; the locked screen needs the password."""
    session = get_for(request, Session, pk, write=True, action="tablet_start")
    try:
        link, token = create_link(session, request.user, channel="tablet")
    except NothingToAskError as exc:
        return render(request, "feedback/nothing.html", {"session": session, "why": str(exc)})
    record(request, "tablet_start", link, clinic_id=session.episode.client.clinic_id)
    request.session[TABLET_KEY] = {"client": session.episode.client_id}
    return redirect("feedback:start", token=token)


@staff_post
def discharge_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Discharge: close the current episode with how it ended, then show the client's
    end-of-treatment satisfaction link like any other (its answers feed the outcomes page)."""
    client = get_for(request, Client, pk, write=True, action="episode_close")
    form = EndingForm(request.POST)
    if not form.is_valid():
        return render(request, "form_error.html", {"form": form}, status=400)
    episode = client.current_episode()
    if episode is None or not close_episode(episode, form.cleaned_data["ending"]):
        return redirect("dashboard:sessions", pk=client.pk)
    record(request, "episode_close", episode, clinic_id=client.clinic_id)
    try:
        link, token = create_ending_link(episode, request.user)
    except NothingToAskError:
        return redirect("dashboard:sessions", pk=client.pk)
    record(request, "link_create", link, clinic_id=client.clinic_id)
    return _show_link(request, link, token, ending=episode.get_ending_display())
