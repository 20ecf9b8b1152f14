"""Messaging in a real browser on phone-sized screens: a counselor records a client's email and
consent and sends a link; `alliance serve`'s worker emails it to an SMTP server started here;
the client's phone shows the email, opens the questions and unsubscribes in one click; the
counselor sees it. Every page (the email too) is screenshotted and checked with axe-core."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from .served_app import served
from .test_web_browser import (  # noqa: F401  (browser and database_url are fixtures)
    AXE,
    CHROMIUM,
    Checker,
    _need,
    _page_width,
    browser,
    database_url,
    sign_in,
)
from .test_web_messaging import Inbox, parts, smtp_env, smtp_server

PASSWORD = "e2e-Counselor-pass-7"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "bypass_csp": True}

pytestmark = pytest.mark.browser

SETUP = f"""
from alliance.web.accounts.models import Clinic, Team, User
from alliance.web.clinic.services import create_client, next_session
clinic = Clinic.objects.create(name="E2E clinic", two_factor_roles="")
team = Team.objects.create(clinic=clinic, name="E2E team")
user = User(username="counselor", role="counselor", clinic=clinic, team=team)
user.set_password({PASSWORD!r})
user.save()
client = create_client(clinic, user, "Robin Example")
next_session(client.current_episode())
"""


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        yield inbox, port


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> Iterator[str]:
    _need(CHROMIUM, "Chromium")
    _need(AXE, "axe-core")
    home = tmp_path_factory.mktemp("e2e-messaging")
    mail = smtp_env(smtp[1])
    with served(home, database_url, SETUP, worker=True, **mail) as url:
        yield url


def _arrived(inbox: Inbox, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not inbox.messages:
        assert time.monotonic() < deadline, "no email arrived"
        time.sleep(0.2)
    return inbox.messages[0][1]


def test_counselor_sends_by_email_and_the_client_unsubscribes(
    server: str,
    browser: Any,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> None:
    check = Checker()
    staff = sign_in(browser.new_context(**PHONE), server, "counselor", PASSWORD)
    staff.click("text=Robin Example")
    staff.click("text=Contact and consent")
    staff.fill("#id_email", "robin@example.org")
    staff.check("#id_email_consent")
    staff.select_option("#id_consent_how", "verbal")
    check(staff, "messaging-contact-form")
    assert _page_width(staff) <= 390
    staff.click("button:has-text('Save contact and consent')")
    assert "May be sent links by email" in staff.inner_text("main")
    check(staff, "messaging-client-page")
    # The sessions table is wider than a phone (before this feature too): send from a desktop.
    staff.set_viewport_size({"width": 1280, "height": 900})
    staff.click("nav[aria-label='Client'] >> text=Sessions")
    check(staff, "messaging-sessions")
    staff.click("button:has-text('Send a link by email')")
    assert "on its way by email" in staff.inner_text("main")
    check(staff, "messaging-queued")

    mail = _arrived(smtp[0])
    body = parts(mail)
    phone = browser.new_context(**PHONE).new_page()
    phone.set_content(body["text/html"])
    check(phone, "messaging-email")
    assert _page_width(phone) <= 390, "the email must fit a phone"
    link = re.search(r"https?://\S+/f/[\w-]+/", body["text/plain"])
    assert link
    phone.goto(server + urlsplit(link.group(0)).path)
    assert phone.locator("input[name='phq9_1']").count() > 0
    unsubscribe = str(mail["List-Unsubscribe"]).strip().strip("<>")
    phone.goto(server + urlsplit(unsubscribe).path)
    check(phone, "messaging-unsubscribe")
    phone.click("button:has-text('Stop messages')")
    assert "You are unsubscribed" in phone.inner_text("main")
    check(phone, "messaging-unsubscribed")

    staff.set_viewport_size(PHONE["viewport"])
    staff.click("text=Client page")
    assert "Unsubscribed on" in staff.inner_text("main")
    check(staff, "messaging-client-unsubscribed")
    staff.click("nav[aria-label='Client'] >> text=Sessions")
    assert "Send a link by email" not in staff.inner_text("main")
    assert not check.problems, check.problems
