"""The token page in Chromium: reached from the security page, a token made there works against
the served API and stops working once revoked there; each page checked with axe-core."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from .served_app import own_database, served
from .test_web_browser import AXE, CHROMIUM, CHROMIUM_ARGS, PASSWORD, Checker, _need

pytestmark = pytest.mark.browser

SETUP = f"""
from alliance.web.accounts.models import Clinic, Team, User
from alliance.web.clinic.services import create_client
clinic = Clinic.objects.create(name="E2E API clinic", two_factor_roles="")
team = Team.objects.create(clinic=clinic, name="E2E team")
user = User(username="counselor", role="counselor", clinic=clinic, team=team)
user.set_password({PASSWORD!r})
user.save()
create_client(clinic, user, "Jo Browser")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _need(CHROMIUM, "Chromium")
    _need(AXE, "axe-core")
    home = tmp_path_factory.mktemp("e2e-api")
    with own_database(home) as database_url, served(home, database_url, SETUP) as url:
        yield url


def status_with(url: str, secret: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_make_use_and_revoke_a_token_in_the_browser(server: str) -> None:
    from playwright.sync_api import sync_playwright

    check = Checker()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        page: Any = context.new_page()
        page.goto(server + "/")
        page.fill("#id_username", "counselor")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(server + "/")
        page.click("text=Security")
        page.click("text=API tokens")
        assert "You have no tokens." in page.inner_text("main")
        check(page, "api-tokens-empty")
        page.fill("#id_name", "EHR sync")
        page.select_option("#id_scope", "read")
        page.fill("#id_days", "30")
        page.click("button:has-text('Create token')")
        secret = page.inner_text("#new-token")
        check(page, "api-token-created")
        assert status_with(f"{server}/api/v1/clients", secret) == 200
        page.goto(server + "/accounts/tokens/")
        assert secret not in page.content() and "EHR sync" in page.inner_text("main")
        page.click("button:has-text('Revoke')")
        assert "revoked" in page.inner_text("table")
        check(page, "api-token-revoked")
        chromium.close()
    assert status_with(f"{server}/api/v1/clients", secret) == 401
    assert not check.problems, "\n".join(check.problems)
