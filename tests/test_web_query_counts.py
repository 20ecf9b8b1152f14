"""Issue 13: the number of database queries of each staff page must not grow with the clinic.

The demo's clinic is built at two sizes with the demo's own code (``seed(clients=N)``), the
larger one with more clients per counselor and more sessions per client, and every staff page
is requested once to warm up and once counted. Pages that still grow today are marked
``xfail(strict=True)``: when a page is fixed its test passes, the strict xfail fails the run,
and whoever fixed it removes the mark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alliance.web.accounts.models import User
from alliance.web.clinic.models import Client
from alliance.web.demo import PROFILES, seed
from alliance.web.transcripts.models import Transcript

#: (clients, sessions per bulk client) of the two clinics compared.
SMALL, LARGE = (20, 4), (120, 14)
pytestmark = pytest.mark.django_db  # so pytest-django sets up the test database
GROWS = pytest.mark.xfail(strict=True, reason="issue 13: grows with the clinic (sessions)")

Page = Callable[[dict[str, Any]], tuple[str, str]]
PAGES: dict[str, Page] = {
    "caseload (counselor)": lambda f: ("counselor", reverse("dashboard:caseload")),
    "caseload (supervisor)": lambda f: ("supervisor", reverse("dashboard:caseload")),
    "caseload (admin)": lambda f: ("admin", reverse("dashboard:caseload")),
    "client page": lambda f: ("counselor", reverse("dashboard:client", args=[f["client"]])),
    "sessions page": lambda f: ("counselor", reverse("dashboard:sessions", args=[f["client"]])),
    "team page": lambda f: ("supervisor", reverse("dashboard:team")),
    "due today (counselor)": lambda f: ("counselor", reverse("dashboard:worklist")),
    "due today (supervisor)": lambda f: ("supervisor", reverse("dashboard:worklist")),
    "due today (admin)": lambda f: ("admin", reverse("dashboard:worklist")),
    "audit page": lambda f: ("admin", reverse("dashboard:audit")),
    "transcript page": lambda f: (
        "counselor",
        reverse("transcripts:detail", args=[f["transcript"]]),
    ),
    "new client form": lambda f: ("counselor", reverse("clinic:client_new")),
    "staff (admin)": lambda f: ("admin", reverse("manage:staff")),
    "teams (admin)": lambda f: ("admin", reverse("manage:teams")),
    "instrument plan (admin)": lambda f: ("admin", reverse("manage:instruments")),
    "transcript models (admin)": lambda f: ("admin", reverse("manage:transcript_models")),
}
#: Pages whose query count grows with the clinic today: none. Measured on SQLite (small =
#: large): caseloads 24 (20 before the worklist's column: its latest sessions, messages, links
#: and unsubscribes are four more), due today 21, client 24, sessions 24, team 19 (17 before the
#: invitation numbers), audit 15, transcript 20. The sessions
#: page grew by one query per session of the client (29 -> 36) until it prefetched their
#: administrations. The large clinic's admin caseload (120 clients) is longer than one page.
GROWING: set[str] = set()


def _facts() -> dict[str, Any]:
    """The pages' objects: counselor's newest client (a bulk one, its sessions scale with the
    clinic) and the demo's analysed transcript."""
    newest = Client.objects.filter(counselor__username="counselor").order_by("-pk").first()
    transcript = Transcript.objects.order_by("pk").first()
    assert newest is not None and transcript is not None
    episode = newest.current_episode()
    assert episode is not None
    sessions = episode.sessions.count()
    return {"client": newest.pk, "transcript": transcript.pk, "sessions": sessions}


def _count(login: str, path: str) -> int:
    http = HttpClient()
    http.force_login(User.objects.get(username=login))
    assert http.get(path).status_code == 200, path  # warm: caches, sessions, fitted reference
    with CaptureQueriesContext(connection) as queries:
        assert http.get(path).status_code == 200, path
    return len(queries)


def _measure(clients: int, sessions: int) -> dict[str, int]:
    with transaction.atomic():
        seed("query-count-pass-1", clients=clients, sessions=sessions)
        facts = _facts()
        counts = {name: _count(*page(facts)) for name, page in PAGES.items()}
        counts["_clients"] = Client.objects.count()
        counts["_sessions"] = facts["sessions"]
        transaction.set_rollback(True)
    return counts


@pytest.fixture(scope="module")
def counts(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[int, int]]]:
    """Queries per page in the small and the large clinic (both rolled back afterwards)."""
    data = Path(tmp_path_factory.mktemp("query-counts"))
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setenv("ALLIANCE_DATA_DIR", str(data))
        small, large = _measure(*SMALL), _measure(*LARGE)
    yield {name: (small[name], large[name]) for name in small}


def test_the_larger_clinic_has_more_clients_and_the_page_client_more_sessions(
    counts: dict[str, tuple[int, int]],
) -> None:
    assert len(PROFILES) < SMALL[0] < LARGE[0]
    assert counts["_clients"] == (SMALL[0], LARGE[0])
    small, large = counts["_sessions"]
    assert small < large


@pytest.mark.parametrize(
    "page", [pytest.param(name, marks=GROWS) if name in GROWING else name for name in PAGES]
)
def test_queries_per_page_do_not_grow_with_the_clinic(
    counts: dict[str, tuple[int, int]], page: str
) -> None:
    small, large = counts[page]
    assert large == small, (
        f"{page}: {small} queries with {SMALL[0]} clients, {large} with {LARGE[0]}"
    )
