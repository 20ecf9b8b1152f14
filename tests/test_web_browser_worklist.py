"""The measures worklist in a real browser, at desktop and phone width: a supervisor's "Due
today" list shows each state (due, sent and unanswered, overdue, failed, unsubscribed) under
the counselors' names; a counselor sends the due client a link from their phone, the worker
emails it to an SMTP server started here, and the list says it was sent. The caseload's
"Measures" column and the team page's invitation numbers are checked too. Every page is
screenshotted and checked with axe-core, and must fit a phone's width."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

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
from .test_web_messaging import Inbox, smtp_env, smtp_server

PASSWORD = "e2e-Worklist-pass-7"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "bypass_csp": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "bypass_csp": True}

pytestmark = pytest.mark.browser

# One client per state, made the way the app makes them (the sent and failed rows stand for
# what the worker records: the messaging tests specify the worker itself).
SETUP = f"""
from datetime import timedelta
from django.utils import timezone
from alliance.web.accounts.models import Clinic, Team, User
from alliance.web.clinic.models import Session
from alliance.web.clinic.services import create_client, next_session
from alliance.web.feedback.services import create_link
from alliance.web.messaging.models import Contact, Message
from alliance.web.messaging.services import save_contact
clinic = Clinic.objects.create(name="E2E clinic", two_factor_roles="")
team = Team.objects.create(clinic=clinic, name="E2E team")
def user(name, role):
    u = User(username=name, role=role, clinic=clinic, team=team)
    u.set_password({PASSWORD!r})
    u.save()
    return u
sam, kim = user("sam", "counselor"), user("kim", "counselor")
user("lead", "supervisor")
def client(name, counselor, days_ago=0):
    c = create_client(clinic, counselor, name)
    s = next_session(c.current_episode(), timezone.localdate() - timedelta(days=days_ago))
    save_contact(c.pk, dict(email=name.split()[0].lower() + "@example.org", mobile="",
        email_consent=True, sms_consent=False, consent_how="verbal", consent_note="",
        first_name=""), counselor.pk)
    return c, s
client("Robin Due", sam)
client("Ola Overdue", sam, days_ago=3)
def message(name, counselor, status, error=""):
    c, s = client(name, counselor)
    link, token = create_link(s, counselor)
    Message.objects.create(client=c, link=link, channel="email", status=status, error=error,
        finished_at=timezone.now(), attempts=1)
    return c
message("Sue Sent", kim, "sent")
message("Fay Failed", kim, "failed", "SMTPRecipientsRefused")
gone = message("Una Unsubscribed", kim, "sent")
Contact.objects.filter(client=gone).update(unsubscribed_at=timezone.now())
"""

STATES = {
    "Robin Due": "Due today",
    "Ola Overdue": "Overdue",
    "Sue Sent": "Sent, unanswered",
    "Fay Failed": "Sending failed",
    "Una Unsubscribed": "Unsubscribed",
}


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
    home = tmp_path_factory.mktemp("e2e-worklist")
    mail = smtp_env(smtp[1])
    with served(home, database_url, SETUP, worker=True, **mail) as url:
        yield url


def _row(page: Any, name: str) -> str:
    return str(page.locator("table.worklist tr", has_text=name).inner_text())


def test_supervisor_and_counselor_walk_the_worklist(
    server: str,
    browser: Any,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> None:
    check = Checker()
    lead = sign_in(browser.new_context(**DESKTOP), server, "lead", PASSWORD)
    lead.click("nav[aria-label='Main'] >> text=Due today")
    check(lead, "worklist-supervisor-desktop")
    assert lead.locator("h2", has_text="sam").count() == 1
    assert lead.locator("h2", has_text="kim").count() == 1
    for name, state in STATES.items():
        assert state in _row(lead, name), name
    assert "Resend by email" in _row(lead, "Fay Failed")
    assert "Send by" not in _row(lead, "Una Unsubscribed")
    lead.set_viewport_size(PHONE["viewport"])
    check(lead, "worklist-supervisor-phone")
    assert _page_width(lead) <= 390, "the worklist must fit a phone"
    lead.set_viewport_size(DESKTOP["viewport"])
    lead.click("nav[aria-label='Main'] >> text=Caseload")
    assert "Sending failed" in lead.locator("tr", has_text="Fay Failed").inner_text()
    check(lead, "worklist-caseload")
    lead.click("nav[aria-label='Main'] >> text=Team")
    kim = lead.locator("table.rates tr", has_text="kim").locator("td").all_inner_texts()
    assert kim == ["2", "0", "0% (0 of 2)", "1", "1"]  # sent, answered, rate, failed, unsubscribed
    check(lead, "worklist-team")

    sam = sign_in(browser.new_context(**PHONE), server, "sam", PASSWORD)
    sam.click("nav[aria-label='Main'] >> text=Due today")
    assert "Sue Sent" not in sam.inner_text("main")  # kim's client
    check(sam, "worklist-counselor-phone")
    assert _page_width(sam) <= 390
    sam.locator("table.worklist tr", has_text="Robin Due").locator(
        "button:has-text('Send by email')"
    ).click()
    assert "on its way by email" in sam.inner_text("main")
    deadline = time.monotonic() + 60
    while not smtp[0].messages:
        assert time.monotonic() < deadline, "no email arrived"
        time.sleep(0.2)
    assert smtp[0].messages[0][0] == ["robin@example.org"]
    sam.click("nav[aria-label='Main'] >> text=Due today")
    while "Sent, unanswered" not in _row(sam, "Robin Due"):  # the worker records it after SMTP
        assert time.monotonic() < deadline, _row(sam, "Robin Due")
        time.sleep(0.3)
        sam.reload()
    check(sam, "worklist-counselor-sent")
    assert not check.problems, check.problems
