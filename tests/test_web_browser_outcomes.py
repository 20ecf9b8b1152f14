"""The outcomes page in a real browser for every role (axe-core: no serious violations; desktop
and phone screenshots), and the episode summary saved as PDF by the browser, whose text holds
the episode's scores."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .pdf_text import pdf_text
from .served_app import served
from .test_web_browser import (  # noqa: F401  (browser and database_url are fixtures)
    ARTIFACTS,
    AXE,
    CHROMIUM,
    Checker,
    _need,
    _page_width,
    browser,
    database_url,
    sign_in,
)

PASSWORD = "e2e-Outcomes-pass-7"
pytestmark = pytest.mark.browser

SETUP = f"""
from alliance.web.demo import seed
seed({PASSWORD!r}, history=150)
"""
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "bypass_csp": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "bypass_csp": True}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[str]:  # noqa: F811
    _need(CHROMIUM, "Chromium")
    _need(AXE, "axe-core")
    home = tmp_path_factory.mktemp("e2e-outcomes")
    with served(home, database_url, SETUP) as url:
        yield url


@pytest.mark.parametrize("role", ["counselor", "supervisor", "admin"])
def test_every_role_opens_the_outcomes_page(server: str, browser: Any, role: str) -> None:  # noqa: F811
    check = Checker()
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = sign_in(browser.new_context(**size), server, role, PASSWORD)
        page.goto(server + "/outcomes/")
        main = page.inner_text("main")
        assert re.search(r"\d+ episodes ended", main)
        assert "Reliable improvement" in main and "Dropout" in main
        assert ("For supervision, not ranking." in main) == (role != "counselor")
        check(page, f"outcomes-{role}-{name}")
        if size is PHONE:
            assert _page_width(page) <= 390, _too_wide(page)
    assert not check.problems, "\n".join(check.problems)


def test_the_episode_summary_saved_as_pdf_holds_the_scores(server: str, browser: Any) -> None:  # noqa: F811
    check = Checker()
    page = sign_in(browser.new_context(**DESKTOP), server, "counselor", PASSWORD)
    assert "(past)" not in page.locator("table.caseload tbody tr").first.inner_text()
    page.click("text=Sam K.")
    page.click("text=Episode summary (print)")
    main = page.inner_text("main")
    assert "For the client, in plain words" in main
    check(page, "episode-summary")
    phq9 = page.locator("table.compact", has_text="PHQ-9 per session")
    scores = phq9.locator("td").all_inner_texts()
    assert len(scores) >= 3
    page.emulate_media(media="print")
    check(page, "episode-summary-print")
    assert page.locator("header.top").is_hidden()  # the menus stay off paper
    pdf = ARTIFACTS / "episode-summary.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    text = pdf_text(Path(pdf).read_bytes())
    assert "Episode summary" in text and "PHQ-9" in text
    numbers = re.findall(r"\d+", text.split("PHQ-9 per session")[-1])
    assert " ".join(scores) in " ".join(numbers), (scores, numbers[:40])
    assert not check.problems, "\n".join(check.problems)


def _too_wide(page: Any) -> str:
    """What sticks out past a phone's width (for the failure message)."""
    found = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 392 && !(e.parentElement && e.parentElement.closest('.scroll')))
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 60))"""
    )
    return "wider than the phone: " + "; ".join(found)
