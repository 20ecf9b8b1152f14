"""The schedule in a real browser: a counselor books a session with a time (the worker then
emails its questions to an SMTP server started here), and a clinic admin changes the schedule
on a phone. Every page is screenshotted and checked with axe-core."""

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

PASSWORD = "e2e-Schedule-pass-7"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "bypass_csp": True}

pytestmark = pytest.mark.browser

SETUP = f"""
from alliance.web.accounts.models import Clinic, Team, User
from alliance.web.clinic.services import create_client
from alliance.web.messaging.services import save_contact
clinic = Clinic.objects.create(name="E2E clinic", two_factor_roles="")
team = Team.objects.create(clinic=clinic, name="E2E team")
for name, role in (("counselor", "counselor"), ("clinicadmin", "admin")):
    user = User(username=name, role=role, clinic=clinic, team=team)
    user.set_password({PASSWORD!r})
    user.save()
client = create_client(clinic, User.objects.get(username="counselor"), "Robin Example")
contact = {{"email": "robin@example.org", "mobile": "", "first_name": "", "email_consent": True,
           "sms_consent": False, "consent_how": "verbal", "consent_note": ""}}
save_contact(client.pk, contact, client.counselor_id)
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
    mail = smtp_env(smtp[1]) | {
        "ALLIANCE_JOB_LEASE_SECONDS": "5",  # a scheduler round every 2.5 s
    }
    home = tmp_path_factory.mktemp("e2e-schedule")
    with served(home, database_url, SETUP, worker=True, **mail) as url:
        yield url


def _later_today() -> str:
    """Three hours from now, or the day's last minute (the date field says today)."""
    now, later = time.localtime(), time.localtime(time.time() + 3 * 3600)
    return time.strftime("%H:%M", later) if later.tm_yday == now.tm_yday else "23:59"


def test_a_booked_session_sends_its_questions_and_the_admin_sets_the_schedule(
    server: str,
    browser: Any,  # noqa: F811
    smtp: tuple[Inbox, int],
) -> None:
    check = Checker()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    staff = sign_in(desktop, server, "counselor", PASSWORD, landing="/**")
    staff.click("text=Robin Example")
    staff.click("nav[aria-label='Client'] >> text=Sessions")
    staff.fill("#id_starts_at", _later_today())
    staff.fill("#id_duration_minutes", "50")
    check(staff, "schedule-new-session")
    staff.click("button:has-text('Add session')")
    deadline = time.monotonic() + 60
    while not smtp[0].messages:
        assert time.monotonic() < deadline, "the booked session's questions were not emailed"
        time.sleep(0.2)
    assert smtp[0].messages[0][0] == ["robin@example.org"]

    admin = sign_in(browser.new_context(**PHONE), server, "clinicadmin", PASSWORD, landing="/**")
    admin.goto(server + "/manage/messaging/")
    check(admin, "schedule-settings")
    assert _page_width(admin) <= 390
    admin.fill("#id_hours_before", "12")
    admin.fill("#id_reminder_hours", "0")
    admin.click("button:has-text('Save')")
    assert "Messaging settings saved" in admin.inner_text("main")
    assert admin.input_value("#id_hours_before") == "12"
    check(admin, "schedule-settings-saved")
    assert not check.problems, check.problems
