"""What the client and sessions pages show of messaging, without those pages' views importing
this app: the contact's channels and consent, unsubscribing, and the latest messages."""

from __future__ import annotations

from typing import Any

from django import template

from alliance.web.clinic.models import Client
from alliance.web.messaging.models import Contact, MessageChannel

register = template.Library()

LATEST_MESSAGES = 5


@register.inclusion_tag("messaging/_contact_panel.html")
def contact_panel(client: Client, editable: bool) -> dict[str, Any]:
    """The client page's section (the page has already checked access to ``client``)."""
    contact = Contact.objects.filter(client=client).first()
    messages = list(client.messages.select_related("link__session")[:LATEST_MESSAGES])
    return {"client": client, "contact": contact, "sent": messages, "editable": editable}


@register.simple_tag
def send_channels(client: Client) -> list[tuple[str, str]]:
    """The channels (value, label) ``client`` may be sent a link by now."""
    contact = Contact.objects.filter(client=client).first()
    if contact is None:
        return []
    return [(value, label) for value, label in MessageChannel.choices if contact.consents_to(value)]
