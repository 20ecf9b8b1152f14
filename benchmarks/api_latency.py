"""Latency of REST API and FHIR calls under `alliance serve`, one client at a time.

Run: python benchmarks/api_latency.py [CALLS]   (from the repository root; default 100 calls)

Serves the app on a throw-away SQLite site set up as tests/test_api_served.py sets it up (a
counselor, scored sessions, an open alert, tokens made with `alliance tokens create`), then times
CALLS sequential calls of each endpoint with the counselor's token: median and 95th percentile.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATHS = ("/api/v1/clients", "/api/v1/alerts", "/fhir/R4/Patient/1/$everything")


def main(calls: int) -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.web.settings")
    os.environ.setdefault("ALLIANCE_WEB_DIR", tempfile.mkdtemp())
    import django

    django.setup()  # the test module's imports need settings
    from tests.served_app import own_database, served
    from tests.test_api_served import SETUP

    home = Path(tempfile.mkdtemp())
    setup = f"from pathlib import Path\nHOME = Path({str(home)!r})\n" + SETUP
    with own_database(home) as db, served(home, db, setup, ALLIANCE_API_RATE_LIMIT="100000") as url:
        secret = (home / "api_user.token").read_text()
        for path in PATHS:
            times = sorted(timed(url + path, secret) for _ in range(calls))
            p95 = times[max(0, round(0.95 * calls) - 1)]
            print(f"{path}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms")


def timed(url: str, secret: str) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
