"""Staff side of feedback links: create a link (URL + QR code) or hand the tablet over."""

from __future__ import annotations

import segno
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alliance.web.audit.log import record
from alliance.web.clinic.access import get_client_for
from alliance.web.clinic.models import Session
from alliance.web.feedback.services import NothingToAskError, create_link, link_instruments
from alliance.web.feedback.views import TABLET_KEY


def _session_for(request: HttpRequest, pk: int, action: str) -> Session:
    session = Session.objects.select_related("episode__client").filter(pk=pk).first()
    if session is None:
        record(request, action, object_type="session", object_id=pk, outcome="denied")
        raise Http404("No such session")
    get_client_for(request.user, session.episode.client_id, request, write=True, action=action)
    return session


@login_required
@never_cache
@require_POST
def create_link_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the new link once: its URL and a QR code. Only the hash is kept."""
    session = _session_for(request, pk, "link_create")
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


@login_required
@never_cache
@require_POST
def tablet_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Lock this browser to the client's questions; the locked screen needs the password."""
    session = _session_for(request, pk, "tablet_start")
    try:
        link, token = create_link(session, request.user, channel="tablet")
    except NothingToAskError as exc:
        return render(request, "feedback/nothing.html", {"session": session, "why": str(exc)})
    record(request, "tablet_start", link, clinic_id=session.episode.client.clinic_id)
    request.session[TABLET_KEY] = {"client": session.episode.client_id}
    return redirect("feedback:start", token=token)
