"""Two-factor sign-in in a real browser on a phone-sized screen: a supervisor (whose clinic
requires it) is sent to enrol at first login, scans nothing but reads the key off the page,
confirms with a code computed here, keeps the recovery codes, and signs in again with a code.
Every page is screenshotted and checked with axe-core; the QR code also loads under the real CSP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from .served_app import own_database, served
from .test_web_browser import AXE, CHROMIUM, CHROMIUM_ARGS, Checker, _need

PASSWORD = "e2e-Supervisor-pass-3"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

pytestmark = pytest.mark.browser

SETUP = f"""
from alliance.web.accounts.models import Clinic, Team, User
clinic = Clinic.objects.create(name="E2E two-factor clinic")  # the default policy
team = Team.objects.create(clinic=clinic, name="E2E team")
for name in ("supervisor", "supervisor2"):
    user = User(username=name, role="supervisor", clinic=clinic, team=team)
    user.set_password({PASSWORD!r})
    user.save()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _need(CHROMIUM, "Chromium")
    _need(AXE, "axe-core")
    home = tmp_path_factory.mktemp("e2e-two-factor")
    with own_database(home) as database_url, served(home, database_url, SETUP) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _code(secret: str, offset: int = 0) -> str:
    if time.time() % 30 > 26:  # stay clear of a step boundary
        time.sleep(30 - time.time() % 30 + 0.2)
    return pyotp.TOTP(secret).at(time.time(), counter_offset=offset)


def _password_step(page: Any, server: str, username: str) -> None:
    page.goto(server + "/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_enrol_then_sign_in_with_a_code_on_a_phone(server: str, browser: Any) -> None:
    check = Checker()
    context = browser.new_context(**PHONE, bypass_csp=True)  # bypass only to inject axe
    page = context.new_page()
    _password_step(page, server, "supervisor")
    page.wait_for_url("**/accounts/two-factor/enrol/**")
    assert "requires a second step" in page.inner_text("main")
    check(page, "2fa-enrol")
    secret = page.inner_text("[data-secret]").replace(" ", "")
    page.fill("#id_code", _code(secret))
    page.click("button:has-text('Turn on')")
    codes = page.locator("ul.codes code").all_inner_texts()
    assert len(codes) == 10
    check(page, "2fa-recovery-codes")
    page.click("text=I have saved them")
    page.wait_for_url(server + "/")

    page.click("button:has-text('Log out')")
    _password_step(page, server, "supervisor")
    page.wait_for_url("**/accounts/login/code/")
    check(page, "2fa-code-step")
    page.fill("#id_code", _code(secret, 1))  # the next step: the enrolment's code is spent
    page.click("button:has-text('Sign in')")
    page.wait_for_url(server + "/")
    page.click("text=Security")
    assert "Unused recovery codes: 10" in page.inner_text("main")
    check(page, "2fa-security")
    context.close()
    assert not check.problems, "\n".join(check.problems)


def test_the_qr_code_loads_under_the_content_security_policy(server: str, browser: Any) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    _password_step(page, server, "supervisor2")
    page.wait_for_url("**/accounts/two-factor/enrol/**")
    page.wait_for_load_state("load")
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    context.close()
