"""Issue 13: ``alliance demo --clients N`` builds a larger clinic with the demo's own logic."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from django.test import Client as HttpClient
from django.urls import reverse

from alliance.core.scoring import score
from alliance.web.accounts.models import User
from alliance.web.alerts.models import Alert
from alliance.web.clinic.models import Administration, Client, Episode
from alliance.web.clinic.services import registry
from alliance.web.demo import seed


def test_a_clinic_of_n_clients_spread_over_counselors_and_teams(db: object, data_dir: Path) -> None:
    result = seed("scale-pass-123", clients=130, sessions=10)
    assert result["clients"] == Client.objects.count() == 130
    assert result["added"] == ["counselor4"]  # 130 clients: forty each needs a fourth counselor
    per_counselor = Counter(Client.objects.values_list("counselor__username", flat=True))
    assert max(per_counselor.values()) <= 45 and len(per_counselor) == 4
    teams = Counter(Client.objects.values_list("counselor__team__name", flat=True))
    assert set(teams) == {"North team", "South team"}
    bulk = Episode.objects.filter(client__pk__gt=Client.objects.order_by("pk")[9].pk)
    lengths = [e.sessions.count() for e in bulk]
    assert 9 <= sum(lengths) / len(lengths) <= 11 and min(lengths) >= 2
    assert bulk.filter(closed_on__isnull=False).exists() and bulk.filter(closed_on=None).exists()
    kinds = set(Alert.objects.filter(episode__in=bulk).values_list("kind", flat=True))
    assert {"risk", "alliance_rupture"} <= kinds


def test_bulk_scores_are_the_cores(db: object, data_dir: Path) -> None:
    seed("scale-pass-123", clients=30)
    instruments = registry()
    rows = Administration.objects.order_by("-pk")[:300]  # the bulk clients' newest
    for row in rows:
        result = score(instruments.get(row.instrument), row.answers)
        assert row.total == result.total and row.score == result.to_dict()
    assert Administration.objects.count() > 30 * 3 * 8


def test_added_counselors_log_in_with_the_demo_password(db: object, data_dir: Path) -> None:
    seed("scale-pass-123", clients=130)
    assert User.objects.filter(username="counselor4").exists()
    http = HttpClient()
    http.post(reverse("accounts:login"), {"username": "counselor4", "password": "scale-pass-123"})
    page = http.get(reverse("dashboard:caseload"))
    assert page.status_code == 200 and "Dana A." in page.content.decode()  # its fourth client


def test_demo_refuses_fewer_clients_than_its_own(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("alliance")
    proc = subprocess.run(
        [str(exe), "demo", "--no-serve", "--db", str(tmp_path / "d.sqlite3"), "--clients", "3"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2 and "--clients" in proc.stderr
    assert not (tmp_path / "d.sqlite3").exists()
