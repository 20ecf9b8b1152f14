"""Staff side of feedback links: create a link (URL + QR code) or hand the tablet over."""

from __future__ import annotations

import segno
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_post
from alliance.web.audit.log import record
from alliance.web.clinic.access import get_for
from alliance.web.clinic.models import Session
from alliance.web.feedback.services import NothingToAskError, create_link, link_instruments
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
    url = request.build_absolute_uri(reverse("feedback:start", kwargs={"token": token}))
    qr = segno.make(url, error="m").svg_data_uri(scale=5, dark="#111", light="#fff")
    context = {"session": session, "client": session.episode.client, "link": link, "url": url}
    titles = [i.short_title for i in link_instruments(link)]
    return render(request, "feedback/link_created.html", context | {"qr": qr, "titles": titles})


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
