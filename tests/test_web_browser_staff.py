"""Clinic administration in a real browser, on a phone-sized screen: a clinic admin adds a
counselor, who then signs in. Pages are screenshotted and checked with axe-core."""

from __future__ import annotations

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

PASSWORD = "e2e-Admin-pass-7"
NEW_PASSWORD = "e2e-New-counselor-8"

pytestmark = pytest.mark.browser

SETUP = f"""
from alliance.web.accounts.models import Clinic, Team, User
clinic = Clinic.objects.create(name="E2E clinic", two_factor_roles="")  # two-factor: test_web_browser_two_factor.py
Team.objects.create(clinic=clinic, name="E2E team")
user = User(username="clinicadmin", role="admin", clinic=clinic)
user.set_password({PASSWORD!r})
user.save()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[str]:  # noqa: F811
    _need(CHROMIUM, "Chromium")
    _need(AXE, "axe-core")
    home = tmp_path_factory.mktemp("e2e-staff")
    with served(home, database_url, SETUP) as url:
        yield url


def test_clinic_admin_adds_a_counselor_who_signs_in(server: str, browser: Any) -> None:  # noqa: F811
    check = Checker()
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "bypass_csp": True}
    page = sign_in(browser.new_context(**phone), server, "clinicadmin", PASSWORD)
    page.click("text=Manage clinic")
    check(page, "manage-staff")
    page.click("text=Add a staff member")
    page.fill("#id_username", "newcounselor")
    page.fill("#id_first_name", "Nia")
    page.select_option("#id_role", "counselor")
    page.select_option("#id_team", label="E2E team")
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    check(page, "manage-staff-new")
    page.click("button:has-text('Add staff member')")
    assert "newcounselor can now sign in" in page.inner_text("main")
    assert _page_width(page) <= 390, "the staff page must fit a phone"
    check(page, "manage-staff-detail")
    page.click("nav[aria-label='Clinic administration'] >> text=Instruments")
    check(page, "manage-instruments")
    assert _page_width(page) <= 390, "wide tables scroll inside their own region"
    page.click("nav[aria-label='Clinic administration'] >> text=Teams")
    check(page, "manage-teams")
    assert _page_width(page) <= 390

    counselor = sign_in(browser.new_context(**phone), server, "newcounselor", NEW_PASSWORD)
    assert "Manage clinic" not in counselor.inner_text("header")
    assert not check.problems, "\n".join(check.problems)
