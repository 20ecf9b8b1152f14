"""Login lockout: the limit holds under concurrent guesses against a real server (each attempt
reserves its place on the counter before the password is checked), and so does a two-factor
code sent many times at once; nothing but a correct password clears the counter, and failed or
locked logins are audited against the account's ids.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pyotp
import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse

from alliance.web.audit.models import AuditEvent

from .served_app import own_database, served
from .web_fixtures import PASSWORD, World

GUARDED_PASSWORD = "guarded-Pass-word-4"
LIMIT = 5
GUESSES = 20
SECRET = pyotp.random_base32(32)
SETUP = f"""
from alliance.web.accounts.models import Clinic, User
clinic = Clinic.objects.create(name="Lockout clinic")
user = User(username="guarded", role="counselor", clinic=clinic)
user.set_password({GUARDED_PASSWORD!r})
user.save()
from django.utils import timezone
from alliance.web.accounts.models import TotpDevice
enrolled = User(username="enrolled", role="counselor", clinic=clinic)
enrolled.set_password({GUARDED_PASSWORD!r})
enrolled.save()
TotpDevice.objects.create(user=enrolled, secret={SECRET!r}, confirmed_at=timezone.now())
"""
WRONG = "Please enter a correct username and password"
LOCKED = "Too many failed attempts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("lockout-web")
    with (
        own_database(home) as database_url,
        served(
            home,
            database_url,
            SETUP,
            ALLIANCE_LOGIN_MAX_FAILURES=str(LIMIT),
            ALLIANCE_LOGIN_MAX_FAILURES_PER_IP="1000",  # only the per-name limit is under test
        ) as url,
    ):
        yield url


class Browser:
    """One visitor: its own cookies and CSRF token, like a separate browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = self.opener.open(f"{base}/accounts/login/", timeout=60).read().decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match
        self.token = match.group(1)

    def log_in(self, username: str, password: str) -> str:
        return self.post("/accounts/login/", {"username": username, "password": password})

    def post(self, path: str, fields: dict[str, str]) -> str:
        """The page a form post ends on (redirects followed)."""
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": self.token, **fields}).encode()
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, headers={"Referer": self.base + "/"}
        )
        try:
            with self.opener.open(request, timeout=120) as response:
                return str(response.read().decode())
        except urllib.error.HTTPError as refused:  # a 400 page is an answer too
            return str(refused.read().decode())


def _main(page: str) -> str:
    """The page's main content as one line, for assertion messages."""
    return re.sub(r"\s+", " ", page.split('id="main"')[-1])[:300]


def _outcome(page: str) -> str:
    if LOCKED in page:
        return "locked"
    if WRONG in page:
        return "checked"
    return "signed in"


def test_concurrent_guesses_cannot_pass_the_limit(server: str) -> None:
    """Twenty wrong passwords at once: exactly five are checked, the rest are refused."""
    browsers = [Browser(server) for _ in range(GUESSES)]
    start = threading.Barrier(GUESSES)
    outcomes: list[str] = []

    def guess(browser: Browser, n: int) -> None:
        start.wait()
        outcomes.append(_outcome(browser.log_in("guarded", f"wrong-guess-{n}")))

    threads = [threading.Thread(target=guess, args=(b, n)) for n, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("checked") == LIMIT, outcomes
    assert outcomes.count("locked") == GUESSES - LIMIT
    # and the right password is refused too while the name is locked
    assert _outcome(Browser(server).log_in("guarded", GUARDED_PASSWORD)) == "locked"


def test_one_code_signs_in_once_even_when_sent_concurrently(server: str) -> None:
    """Eight browsers past the password step send the same current code at once: one is signed
    in; the others are refused (the code is spent) or locked out (the attempt limit)."""
    browsers = [Browser(server) for _ in range(8)]
    for browser in browsers:
        assert "Sign-in code" in browser.log_in("enrolled", GUARDED_PASSWORD)
    if time.time() % 30 > 26:  # stay clear of a step boundary
        time.sleep(30 - time.time() % 30 + 0.2)
    code = pyotp.TOTP(SECRET).now()
    start = threading.Barrier(len(browsers))
    pages: list[str] = []

    def send(browser: Browser) -> None:
        start.wait()
        pages.append(browser.post("/accounts/login/code/", {"code": code}))

    threads = [threading.Thread(target=send, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pages) == len(browsers)
    signed_in = [p for p in pages if "Log out" in p]
    assert len(signed_in) == 1, [_main(p) for p in pages]
    others = [_main(p) for p in pages if p not in signed_in]
    assert all("already used" in p or LOCKED in p for p in others), others


def _post(http: HttpClient, username: str, password: str) -> int:
    response = http.post(reverse("accounts:login"), {"username": username, "password": password})
    return int(response.status_code)


def test_a_form_without_a_password_does_not_reset_the_counter(world: World) -> None:
    http = HttpClient()
    for _ in range(settings.ALLIANCE_LOGIN_MAX_FAILURES - 1):
        assert _post(http, "couns_a", "wrong-password") == 200
    assert _post(http, "couns_a", "") == 200  # no password checked: neither a failure nor a reset
    assert _post(http, "couns_a", "wrong-password") == 200
    response = http.post(reverse("accounts:login"), {"username": "couns_a", "password": PASSWORD})
    assert LOCKED.encode() in response.content


def test_failed_and_locked_logins_are_audited_against_the_account(world: World) -> None:
    http = HttpClient()
    for _ in range(settings.ALLIANCE_LOGIN_MAX_FAILURES + 1):
        _post(http, "couns_a", "wrong-password")
    failed = AuditEvent.objects.filter(action="login", outcome="failed")
    locked = AuditEvent.objects.get(action="login", outcome="locked")
    for event in [*failed, locked]:
        assert (event.object_type, event.object_id) == ("user", str(world.counselor.pk))
        assert event.clinic_id_ref == world.clinic.pk
        assert event.user_id is None and event.username == ""  # nobody was signed in
    assert failed.count() == settings.ALLIANCE_LOGIN_MAX_FAILURES


def test_a_failed_login_for_an_unknown_name_carries_no_ids(world: World) -> None:
    _post(HttpClient(), "nobody-here", "wrong-password")
    event = AuditEvent.objects.get(action="login", outcome="failed")
    assert (event.object_id, event.clinic_id_ref) == ("", None)


def test_the_failed_login_shows_in_the_clinic_admins_audit_log(world: World) -> None:
    _post(HttpClient(), "couns_a", "wrong-password")
    admin = HttpClient()
    admin.force_login(world.admin)
    page = admin.get(reverse("dashboard:audit")).content.decode()
    assert "(not signed in)" in page and f"user {world.counselor.pk}" in page
