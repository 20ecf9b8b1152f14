"""Sending a text message: a small backend interface, chosen by ``ALLIANCE_SMS_BACKEND``.

``outbox`` (the default) appends each message to a file for development, so nothing leaves the
machine; ``twilio`` posts to Twilio's Messages API. A backend returns the provider's message id
and raises :class:`SmsError` (or a subclass) when the message was not accepted; the caller keeps
only the exception's class name, since a provider's error text can echo the phone number.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone

#: Seconds to wait for the provider before the attempt counts as failed.
TIMEOUT_SECONDS = 15


class SmsError(Exception):
    """The message was not accepted."""


class SmsRejectedError(SmsError):
    """The provider answered with an error (a 4xx: bad number, unverified sender, bad account)."""


class SmsUnavailableError(SmsError):
    """The provider could not be reached or failed on its side (network, timeout, 5xx)."""


class SmsBackend(Protocol):
    def send(self, to: str, body: str) -> str:
        """Send ``body`` to the E.164 number ``to``; the provider's id for the message."""
        ...


class OutboxSmsBackend:
    """Development: one JSON line per message in ``path``; nothing is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, to: str, body: str) -> str:
        message_id = f"outbox-{uuid.uuid4().hex}"
        line = {"id": message_id, "to": to, "body": body, "at": timezone.now().isoformat()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
        return message_id


class TwilioSmsBackend:
    """Twilio's Messages API: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with HTTP basic
    auth (account SID, auth token) and the form fields ``To``, ``From``, ``Body``; it answers
    201 with the message's JSON (its ``sid``), or 4xx with ``{"code", "message", ...}``."""

    def __init__(self, api_url: str, account_sid: str, auth_token: str, sender: str) -> None:
        self.url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        pair = f"{account_sid}:{auth_token}".encode()
        self.authorization = "Basic " + base64.b64encode(pair).decode("ascii")
        self.sender = sender

    def send(self, to: str, body: str) -> str:
        form = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body}).encode()
        request = urllib.request.Request(self.url, data=form, method="POST")
        request.add_header("Authorization", self.authorization)
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            error = SmsRejectedError if 400 <= exc.code < 500 else SmsUnavailableError
            raise error(f"HTTP {exc.code}") from None  # the body may echo the number
        except (OSError, ValueError) as exc:
            raise SmsUnavailableError(type(exc).__name__) from None
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not isinstance(sid, str) or not sid:
            raise SmsUnavailableError("no message sid in the answer")
        return sid


def backend() -> SmsBackend:
    """The backend the settings choose."""
    if settings.ALLIANCE_SMS_BACKEND == "twilio":
        return TwilioSmsBackend(
            settings.ALLIANCE_SMS_API_URL,
            settings.ALLIANCE_SMS_ACCOUNT_SID,
            settings.ALLIANCE_SMS_AUTH_TOKEN,
            settings.ALLIANCE_SMS_FROM,
        )
    return OutboxSmsBackend(Path(settings.ALLIANCE_SMS_OUTBOX))
