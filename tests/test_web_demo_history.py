"""The demo's history: closed episodes simulated with a known alliance -> outcome effect, which
the outcomes page recovers."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from django.urls import reverse

from alliance.web.accounts.models import User
from alliance.web.clinic.models import Administration, Client, Episode
from alliance.web.demo import seed
from alliance.web.demo_history import EFFECTS

from .web_fixtures import logged_in


def test_the_outcomes_page_recovers_the_simulated_alliance_effect(
    db: object, data_dir: Path
) -> None:
    result = seed("history-pass-123", history=300)
    assert result["history"] == 300
    past = Episode.objects.filter(client__active=False)
    assert past.count() == 300 and not past.filter(closed_on=None).exists()
    endings = Counter(past.values_list("ending", flat=True))
    assert set(endings) == {"planned", "unplanned", "transferred", "other"}
    counselors = Counter(past.values_list("client__counselor__username", flat=True))
    assert set(counselors) == {"counselor", "counselor2", "counselor3"}
    assert Administration.objects.filter(instrument="satisfaction_check").count() > 100
    assert not Client.objects.filter(active=False, alerts__isnull=False).exists()

    admin = logged_in(User.objects.get(username="admin"))
    page = admin.get(reverse("outcomes:page")).content.decode()
    within = re.search(
        r"Within a client[^<]*</th><td>(-?[\d.]+)</td><td>(-?[\d.]+) to (-?[\d.]+)</td>", page
    )
    assert within, "no alliance -> outcome result on the page"
    estimate, low, high = (float(g) for g in within.groups())
    assert low <= estimate <= high and low <= EFFECTS.within <= high and high < 0  # no effect: out
    assert "For supervision, not ranking." in page
    assert '<figure class="chart"><svg' in page
