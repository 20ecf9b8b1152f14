"""Dashboard pages, alert lifecycle, and the demo caseload."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from django.test import Client as HttpClient
from django.urls import reverse

from alliance.web.alerts.models import Alert
from alliance.web.alerts.services import refresh_alerts
from alliance.web.clinic.models import Administration, Client
from alliance.web.clinic.services import next_session, record_administration, registry
from alliance.web.demo import LOGINS, PROFILES, seed

from .web_fixtures import PHQ9_RISK, World, logged_in

CALM_PHQ9 = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}


def complete(client: Client, answers: dict[str, int], instrument: str = "phq9") -> None:
    episode = client.current_episode()
    assert episode is not None
    session = next_session(episode, status="attended")
    record_administration(session, registry().get(instrument), answers, "staff")
    refresh_alerts(episode)


def test_risk_alert_is_raised_once_acknowledged_and_raised_again_later(world: World) -> None:
    Alert.objects.all().delete()
    complete(world.own, PHQ9_RISK)
    refresh_alerts(world.own.current_episode())  # type: ignore[arg-type]
    risk = Alert.objects.get(client=world.own, kind="risk")
    assert risk.severity == "safety" and risk.status == "open"
    http = logged_in(world.counselor)
    response = http.post(reverse("alerts:ack", args=[risk.pk]), {"note": "Safety plan"})
    assert response.status_code == 302
    risk.refresh_from_db()
    assert (risk.status, risk.note, risk.acknowledged_by) == (
        "acknowledged",
        "Safety plan",
        world.counselor,
    )
    refresh_alerts(world.own.current_episode())  # type: ignore[arg-type]
    assert Alert.objects.filter(client=world.own, kind="risk").count() == 1
    complete(world.own, PHQ9_RISK)
    assert Alert.objects.filter(client=world.own, kind="risk", status="open").count() == 1


def test_acknowledging_needs_a_note(world: World) -> None:
    alert = Alert.objects.get(client=world.own)
    response = logged_in(world.counselor).post(reverse("alerts:ack", args=[alert.pk]))
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.status == "open"


def test_client_page_shows_chart_table_items_and_alerts(world: World) -> None:
    complete(world.own, CALM_PHQ9)
    complete(world.own, PHQ9_RISK)
    page = logged_in(world.counselor).get(reverse("dashboard:client", args=[world.own.pk]))
    html = page.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'role="img"' in html
    assert "PHQ-9 per session" in html and "Moderately severe" in html
    assert "Thoughts that you would be better off dead" in html  # item-level answers
    assert "Acknowledge" in html and "risk" in html.lower()


def test_caseload_puts_risk_first_then_alerts_then_overdue(world: World) -> None:
    Alert.objects.all().delete()
    a = world.own
    b = Client.objects.create(
        clinic=world.clinic, counselor=world.counselor, display_name="Zed Overdue"
    )
    b.episodes.create(opened_on="2026-01-01")
    next_session(b.current_episode(), status="attended")  # type: ignore[arg-type]
    c = Client.objects.create(
        clinic=world.clinic, counselor=world.counselor, display_name="Amy Fine"
    )
    c.episodes.create(opened_on="2026-01-01")
    complete(a, PHQ9_RISK)
    page = logged_in(world.counselor).get(reverse("dashboard:caseload")).content.decode()
    order = [page.index(name) for name in ("Alex Own", "Zed Overdue", "Amy Fine")]
    assert order == sorted(order)
    assert "Risk" in page and "1 without measures" in page


def test_session_pages_create_and_update_sessions(world: World) -> None:
    http = logged_in(world.counselor)
    http.post(
        reverse("clinic:session_new", args=[world.own.pk]),
        {"date": "2026-03-02", "status": "scheduled"},
    )
    sessions = list(world.own.current_episode().sessions.all())  # type: ignore[union-attr]
    assert [s.number for s in sessions] == [1, 2]
    http.post(reverse("clinic:session_status", args=[sessions[1].pk]), {"status": "no_show"})
    sessions[1].refresh_from_db()
    assert sessions[1].status == "no_show"
    bad = http.post(reverse("clinic:session_status", args=[sessions[1].pk]), {"status": "x"})
    assert bad.status_code == 400
    bad_date = http.post(
        reverse("clinic:session_new", args=[world.own.pk]), {"date": "soon", "status": "x"}
    )
    assert bad_date.status_code == 400
    page = http.get(reverse("dashboard:sessions", args=[world.own.pk])).content.decode()
    assert "Session transcripts" in page and "No-show" in page


def test_counselor_creates_a_client_with_the_default_plan(world: World) -> None:
    http = logged_in(world.counselor)
    response = http.post(reverse("clinic:client_new"), {"display_name": "N.P."})
    client = Client.objects.get(pk=response.url.strip("/").split("/")[-1])
    plan = client.current_episode().plan.values_list("instrument", "timing")  # type: ignore[union-attr]
    assert list(plan) == [
        ("phq9", "before_session"),
        ("gad7", "before_session"),
        ("alliance_check", "end_of_session"),
    ]
    assert client.counselor == world.counselor


def test_demo_caseload(db: object, data_dir: Path) -> None:
    result = seed("demo-pass-123")
    assert result["clients"] == len(PROFILES) == 10
    assert set(LOGINS) <= set(result["users"])
    risk = Alert.objects.filter(kind="risk", status="open")
    assert [a.client.display_name for a in risk] == ["Chris P."]
    assert Administration.objects.count() > 250
    http = HttpClient()
    http.post(reverse("accounts:login"), {"username": "counselor", "password": "demo-pass-123"})
    page = http.get(reverse("dashboard:caseload")).content.decode()
    assert page.index("Chris P.") < page.index("Sam K.")
    assert "Dee W." not in page
    returning = Client.objects.get(pk=_pk_of(page, "Sam K."))
    episodes = list(returning.episodes.order_by("opened_on"))
    assert len(episodes) == 2 and episodes[0].closed_on and episodes[1].closed_on is None
    assert [s.number for s in episodes[1].sessions.order_by("number")][:2] == [1, 2]
    overview = http.get(reverse("dashboard:client", args=[returning.pk])).content.decode()
    assert 'aria-label="Episodes of care"' in overview
    supervisor = HttpClient()
    supervisor.post(
        reverse("accounts:login"), {"username": "supervisor", "password": "demo-pass-123"}
    )
    team = supervisor.get(reverse("dashboard:caseload")).content.decode()
    assert "Dee W." in team and "Chris P." in team and "Pat Q." not in team


def test_demo_command_builds_a_database_and_private_keys(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("alliance")
    db = tmp_path / "demo.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DATABASE"))}
    env["ALLIANCE_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run(
        [str(exe), "demo", "--no-serve", "--db", str(db), "--password", "pw-demo-12345"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "admin, supervisor, counselor, counselor2" in proc.stdout
    assert "pw-demo-12345" in proc.stdout
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM clinic_client WHERE active").fetchone()
        (past,) = conn.execute("SELECT count(*) FROM clinic_client WHERE NOT active").fetchone()
        (name,) = conn.execute("SELECT display_name FROM clinic_client LIMIT 1").fetchone()
    assert count == 10 and name.startswith("gAAAA")  # Fernet token, not a name
    assert past == 300 and "History: 300 closed episodes" in proc.stdout  # the outcomes page's
    for key_file in ("field_keys", "secret_key"):
        mode = stat.S_IMODE((tmp_path / key_file).stat().st_mode)
        assert mode == 0o600, key_file


def test_plan_edits_and_discharge_change_what_links_ask(world: World) -> None:
    http = logged_in(world.counselor)
    http.post(
        reverse("clinic:plan_add", args=[world.own.pk]),
        {"instrument": "satisfaction_check", "timing": "discharge"},
    )
    bad = http.post(
        reverse("clinic:plan_add", args=[world.own.pk]), {"instrument": "srs", "timing": "x"}
    )
    assert bad.status_code == 400  # licensed without text, unknown timing
    episode = world.own.current_episode()
    assert episode is not None
    gad7 = episode.plan.get(instrument="gad7")
    http.post(reverse("clinic:plan_remove", args=[gad7.pk]))
    session = episode.sessions.get()
    page = http.post(reverse("feedback:create_link", args=[session.pk])).content.decode()
    assert "It asks: PHQ-9, Alliance check." in page
    http.post(reverse("feedback:discharge", args=[world.own.pk]), {"ending": "planned"})
    episode.refresh_from_db()
    assert episode.closed_on is not None
    page = http.post(reverse("feedback:create_link", args=[session.pk])).content.decode()
    assert "Satisfaction" in page.split("It asks:")[1].split("</p>")[0]


def test_demo_and_serve_have_help() -> None:
    from typer.testing import CliRunner

    from alliance.cli import app

    for command in ("demo", "serve"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--port" in result.output


def test_a_second_acknowledgement_does_not_overwrite_the_first(world: World) -> None:
    alert = Alert.objects.get(client=world.own)
    url = reverse("alerts:ack", args=[alert.pk])
    logged_in(world.counselor).post(url, {"note": "Called the client"})
    logged_in(world.supervisor).post(url, {"note": "stale tab"})
    alert.refresh_from_db()
    assert (alert.note, alert.acknowledged_by) == ("Called the client", world.counselor)


def _pk_of(caseload_page: str, name: str) -> int:
    """The client id in the caseload row that names ``name``."""
    import re

    match = re.search(r'href="/clients/(\d+)/"[^>]*>' + re.escape(name), caseload_page)
    assert match, name
    return int(match.group(1))


def test_past_clients_come_after_current_ones_needing_the_same_attention(world: World) -> None:
    from alliance.web.clinic.services import create_client

    Alert.objects.all().delete()
    past = create_client(world.clinic, world.counselor, "Aaron Past")  # sorts first by name
    next_session(past.current_episode())  # type: ignore[arg-type]  # as unmeasured as Alex's
    Client.objects.filter(pk=past.pk).update(active=False)
    page = logged_in(world.counselor).get(reverse("dashboard:caseload")).content.decode()
    assert page.index("Alex Own") < page.index("Aaron Past")
