"""Issue 13: a caseload of thousands pages (attention first), finds clients by name, and a
read page writes nothing; the team page counts in the database."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alliance.web.clinic.models import Client
from alliance.web.clinic.services import (
    create_client,
    next_session,
    record_administration,
    registry,
)

from .web_fixtures import World, logged_in, risk_alert

CALM = {f"phq9_{i}": 0 for i in range(1, 10)}


def _names(page: str) -> list[str]:
    """The client names of a caseload page's rows, in order."""
    return re.findall(r'<th scope="row"><a href="/clients/\d+/">([^<]*)</a>', page)


def _many(world: World, count: int) -> None:
    """``count`` more clients of the counselor, named so that name order is known."""
    for i in range(count):
        create_client(world.clinic, world.counselor, f"Bulk {i:03d}")


def test_a_long_caseload_pages_with_the_clients_needing_attention_first(world: World) -> None:
    _many(world, 60)
    urgent = Client.objects.order_by("-pk")[0]
    risk_alert(urgent)
    http = logged_in(world.counselor)
    first = http.get(reverse("dashboard:caseload")).content.decode()
    second = http.get(reverse("dashboard:caseload") + "?page=2").content.decode()

    shown = _names(first) + _names(second)
    assert len(_names(first)) == 50 and len(shown) == 61
    # both have an open safety alert; Alex Own also a session without measures
    assert shown[:2] == ["Alex Own", "Bulk 059"]
    assert shown[2:] == [f"Bulk {i:03d}" for i in range(59)]
    assert "Page 1 of 2 (61 clients)" in first and 'rel="next"' in first


def test_caseload_search_finds_by_name_prefix_case_insensitively(world: World) -> None:
    create_client(world.clinic, world.counselor, "Mary-Ann Lee")
    create_client(world.clinic, world.counselor, "Ann Smith")
    create_client(world.clinic, world.counselor, "Joanna Park")
    http = logged_in(world.counselor)

    def found(q: str) -> list[str]:
        page = http.get(reverse("dashboard:caseload"), {"q": q}).content.decode()
        return sorted(_names(page))

    assert found("ann") == ["Ann Smith", "Mary-Ann Lee"]  # a word's start, not "Joanna"
    assert found("  MARY-a ") == ["Mary-Ann Lee"]
    assert found("lee") == ["Mary-Ann Lee"]
    assert found("nobody") == []
    assert "No client" in http.get(reverse("dashboard:caseload"), {"q": "nobody"}).content.decode()


def test_caseload_search_finds_only_visible_clients(world: World) -> None:
    # "Bea Teammate" is on the supervisor's team; "Cal South" and "Dan Foreign" are not
    # visible to the counselor, the South team's client not to the North supervisor.
    def found(user: str, q: str) -> list[str]:
        page = logged_in(world.user(user)).get(reverse("dashboard:caseload"), {"q": q})
        return _names(page.content.decode())

    assert found("counselor", "bea") == [] and found("counselor", "alex") == ["Alex Own"]
    assert found("supervisor", "bea") == ["Bea Teammate"] and found("supervisor", "cal") == []
    assert found("admin", "cal") == ["Cal South"] and found("admin", "dan") == []


def test_no_readable_name_is_stored_for_search(world: World) -> None:
    create_client(world.clinic, world.counselor, "Quentin Searchable")
    logged_in(world.counselor).get(reverse("dashboard:caseload"), {"q": "quen"})
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            text = repr(cursor.fetchall()).lower()
            assert "quentin" not in text and "searchable" not in text, table


def test_staff_pages_write_nothing_when_no_link_has_expired(world: World) -> None:
    http = logged_in(world.counselor)
    pages = [
        reverse("dashboard:caseload"),
        reverse("dashboard:client", args=[world.own.pk]),
        reverse("dashboard:sessions", args=[world.own.pk]),
    ]
    for path in pages:
        http.get(path)  # warm
        with CaptureQueriesContext(connection) as queries:
            assert http.get(path).status_code == 200
        writes = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith("UPDATE")
            and "clinic_administration" in q["sql"]
        ]
        assert writes == [], path


def test_team_page_counts_due_and_completed_sessions(world: World) -> None:
    episode = world.own.current_episode()
    assert episode is not None
    attended = next_session(episode, status="attended")
    record_administration(attended, registry().get("phq9"), CALM, "staff")
    page = logged_in(world.supervisor).get(reverse("dashboard:team")).content.decode()
    row = re.search(r"<th scope=\"row\">couns_a</th>(.*?)</tr>", page)
    assert row is not None
    # one active client; of its two due sessions (one scheduled for today, one attended)
    # one has a completed measure; one open alert
    assert re.findall(r"<td>([^<]*)</td>", row.group(1)) == ["1", "1 of 2", "50%", "1"]
