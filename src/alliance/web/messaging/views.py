"""Staff pages (a client's contact and consent; send a link by email or SMS) and the client's
one-click unsubscribe page, which needs no account."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alliance.web.accounts.http import AuthenticatedHttpRequest, staff_page, staff_post
from alliance.web.audit.log import client_ip, record
from alliance.web.clinic.access import get_for
from alliance.web.clinic.models import Client, Session
from alliance.web.feedback.services import NothingToAskError, count_miss, create_link
from alliance.web.messaging.forms import ContactForm
from alliance.web.messaging.models import Contact, MessageChannel
from alliance.web.messaging.services import contact_for_token, save_contact, unsubscribe
from alliance.web.messaging.tasks import queue_invitation


@staff_page
@require_http_methods(["GET", "POST"])
def contact_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Record how a client may be contacted and how they agreed to it."""
    action = "contact_change" if request.method == "POST" else "contact_view"
    client = get_for(request, Client, pk, write=True, action=action)
    contact = Contact.objects.filter(client=client).first()
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            contact = save_contact(client.pk, form.cleaned_data, request.user.pk)
            record(request, "contact_change", contact, clinic_id=client.clinic_id)
            return redirect("dashboard:client", pk=client.pk)
    else:
        fields = ContactForm.base_fields
        form = ContactForm(initial={f: getattr(contact, f) for f in fields} if contact else None)
    return render(
        request, "messaging/contact.html", {"client": client, "contact": contact, "form": form}
    )


@staff_post
def send_view(request: AuthenticatedHttpRequest, pk: int, channel: str) -> HttpResponse:
    """Make a new link for the session and queue it to the client by ``channel``."""
    if channel not in MessageChannel.values:
        raise Http404("No such channel")
    session = get_for(request, Session, pk, write=True, action="message_queue")
    client = session.episode.client
    contact = Contact.objects.filter(client=client).first()
    context = {"session": session, "client": client, "channel": MessageChannel(channel).label}
    if contact is None or not contact.consents_to(channel):
        return render(request, "messaging/cannot_send.html", context | {"contact": contact})
    try:
        link, token = create_link(session, request.user)
    except NothingToAskError as exc:
        return render(request, "feedback/nothing.html", {"session": session, "why": str(exc)})
    record(request, "link_create", link, clinic_id=client.clinic_id)
    message = queue_invitation(link, token, contact, channel, request.user)
    record(request, "message_queue", message, clinic_id=client.clinic_id)
    return render(request, "messaging/queued.html", context | {"link": link})


@csrf_exempt  # RFC 8058: mail providers POST here without a form of ours; the token is the key
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (link scanners open links); POST unsubscribes at once."""
    contact = contact_for_token(token) if len(token) <= 200 else None
    if contact is None:
        verdict = count_miss(client_ip(request))
        if verdict != "quiet":
            record(request, "unsubscribe", object_type="contact", outcome="denied")
        status = 404 if verdict == "audit" else 429
        return render(request, "messaging/unsubscribe_unknown.html", status=status)
    if request.method == "POST":
        if unsubscribe(contact):
            record(request, "unsubscribe", contact, clinic_id=contact.client.clinic_id)
        return render(request, "messaging/unsubscribed.html")
    return render(request, "messaging/unsubscribe.html", {"done": contact.unsubscribed_at})
