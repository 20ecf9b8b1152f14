"""The API served by a real server (``alliance serve``): a token made with the
``alliance tokens`` CLI calls it the way docs/api.md shows with curl, and schemathesis fuzzes every
operation from the API's own OpenAPI schema, with no server error allowed."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from alliance.web.api.services import WINDOW_SECONDS

from .served_app import own_database, served

pytestmark = pytest.mark.web

#: A counselor with one client (scored answers, an open alert, a closed earlier episode) and a
#: client of another clinic; tokens are made by the CLI, exactly as an operator would.
SETUP = """
import datetime
from typer.testing import CliRunner
from alliance.cli import app
from alliance.web.accounts.models import Clinic, Role, Team, User
from alliance.web.alerts.models import Alert
from alliance.web.clinic.services import (
    close_episode, create_client, next_session, open_episode, record_administration, registry,
)

def user(name, clinic, team):
    made = User(username=name, role=Role.COUNSELOR, clinic=clinic, team=team)
    made.set_unusable_password()
    made.save()
    return made

clinic = Clinic.objects.create(name="Served A", two_factor_roles="")
other = Clinic.objects.create(name="Served B", two_factor_roles="")
me = user("api_user", clinic, Team.objects.create(clinic=clinic, name="North"))
them = user("api_other", other, Team.objects.create(clinic=other, name="Far"))
reg = registry()
mine = create_client(clinic, me, "Erin Served")
first = mine.current_episode()
for answer in (3, 1):
    session = next_session(first)
    record_administration(session, reg.get("phq9"), {f"phq9_{i}": answer for i in range(1, 10)}, "staff")
close_episode(first, "planned")
episode = open_episode(mine)
session = next_session(episode)
record_administration(session, reg.get("phq9"), {f"phq9_{i}": 2 for i in range(1, 10)}, "staff")
Alert.objects.create(client=mine, episode=episode, kind="risk", rule="risk:item9",
    instrument="phq9", severity="safety", detail="served alert", session_number=session.number)
theirs = create_client(other, them, "Finn Foreign")
next_session(theirs.current_episode())
for name, scope in (("api_user", "write"), ("api_other", "write")):
    made = CliRunner().invoke(app, ["tokens", "create", name, "--scope", scope, "--name", "ci"])
    assert made.exit_code == 0, made.output
    secret = next(line for line in made.output.splitlines() if line.startswith("alliance_"))
    (HOME / f"{name}.token").write_text(secret)
(HOME / "ids.json").write_text(f'{{"mine": {mine.pk}, "theirs": {theirs.pk}}}')
"""


#: The fuzzer makes hundreds of calls, some with invalid tokens on purpose (they must get 401).
UNLIMITED = {"ALLIANCE_API_RATE_LIMIT": "100000", "ALLIANCE_API_REFUSED_PER_ADDRESS": "100000"}


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The served app's URL and its home (tokens and ids written there by SETUP)."""
    home = tmp_path_factory.mktemp("api-served")
    setup = f"from pathlib import Path\nHOME = Path({str(home)!r})\n" + SETUP
    with (
        own_database(home) as database,
        served(home, database, setup, **UNLIMITED) as url,
    ):
        yield url, home


def call(url: str, secret: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    """One API call, as curl would make it."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {secret}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_a_cli_token_reads_its_caseload_and_not_another_clinics(
    api_server: tuple[str, Path],
) -> None:
    url, home = api_server
    secret = (home / "api_user.token").read_text()
    ids = json.loads((home / "ids.json").read_text())
    status, clients = call(f"{url}/api/v1/clients", secret)
    assert status == 200 and [c["id"] for c in clients["items"]] == [ids["mine"]]
    assert call(f"{url}/api/v1/clients/{ids['theirs']}", secret)[0] == 404
    status, alerts = call(f"{url}/api/v1/alerts?status=open", secret)
    assert status == 200 and alerts["count"] == 1
    foreign = (home / "api_other.token").read_text()
    alert = alerts["items"][0]["id"]
    assert (
        call(f"{url}/api/v1/alerts/{alert}/acknowledge", foreign, "POST", {"note": "x"})[0] == 404
    )
    status, summary = call(f"{url}/api/v1/outcomes/summary?instrument=phq9", secret)
    assert status == 200 and summary["summary"]["episodes"] == 1


def test_the_rate_limit_holds_across_server_processes(tmp_path: Path) -> None:
    """Two server processes on one port share each token's count (it lives in the database):
    of 30 concurrent calls exactly the limit's 10 get through, the rest get 429."""
    setup = f"from pathlib import Path\nHOME = Path({str(tmp_path)!r})\n" + SETUP
    settings = {"ALLIANCE_API_RATE_LIMIT": "10", "ALLIANCE_SERVER_PROCESSES": "2"}
    with own_database(tmp_path) as database, served(tmp_path, database, setup, **settings) as url:
        secret = (tmp_path / "api_user.token").read_text()
        if time.time() % WINDOW_SECONDS > WINDOW_SECONDS - 15:  # keep the burst in one window
            time.sleep(WINDOW_SECONDS - time.time() % WINDOW_SECONDS + 0.5)
        with ThreadPoolExecutor(max_workers=10) as pool:
            codes = list(pool.map(lambda _: call(f"{url}/api/v1/clients", secret)[0], range(30)))
    assert sorted(codes) == [200] * 10 + [429] * 20, codes


#: Examples per operation: schema-valid calls (answered as documented) and invalid ones
#: (refused with a 4xx); enough to reach every parameter's edges within about a minute here.
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
#: Invalid calls need not all be refused: an unknown query parameter is ignored (as HTTP APIs
#: do), and the fuzzer's "missing Authorization" cases carry the token this test adds anyway.
#: Every other check applies (documented status codes and bodies, no server error).
EXCLUDED = {GenerationMode.POSITIVE: [], GenerationMode.NEGATIVE: [negative_data_rejection]}
#: Each served OpenAPI schema, and how many operations it has at least.
SCHEMAS = {"/api/v1/openapi.json": 11, "/fhir/R4/openapi.json": 3}


def test_fuzzed_calls_never_get_a_server_error(api_server: tuple[str, Path]) -> None:
    """Every operation, with generated parameters and bodies, answers as its schema says
    (status codes, content types and bodies): above all, never a 5xx. Driven through
    hypothesis directly (schemathesis' pytest loader does not run on pytest 9)."""
    url, home = api_server
    secret = (home / "api_user.token").read_text()
    for path, expected in SCHEMAS.items():
        schema = schemathesis.openapi.from_url(url + path)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= expected, path
        for operation in operations:
            for mode, examples in EXAMPLES.items():
                fuzz(operation, mode, examples, secret)


def fuzz(operation: Any, mode: GenerationMode, examples: int, secret: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
            excluded_checks=EXCLUDED[mode],
        )

    check()
