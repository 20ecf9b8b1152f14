"""``alliance export fhir`` end to end: the real command, in a subprocess, on the demo
clinic's database (SQLite file built by ``alliance demo``), as a clinic admin and as a
counselor, each export one audit event."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

ALLIANCE = str(Path(sys.executable).with_name("alliance"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("fhir-site")
    db = home / "demo.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env |= {"ALLIANCE_WEB_DIR": str(home), "ALLIANCE_DATA_DIR": str(home / "data")}
    built = alliance(env, "demo", "--no-serve", "--db", str(db), "--history", "0")
    assert built.returncode == 0, built.stderr
    return env | {"DATABASE_URL": f"sqlite:///{db}", "DB_FILE": str(db)}


def alliance(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ALLIANCE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def patients(bundle: dict[str, Any]) -> set[str]:
    return {
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    }


def exports(site: dict[str, str]) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(site["DB_FILE"]) as db:
        rows = db.execute(
            "SELECT username, object_type, object_id, outcome FROM audit_auditevent "
            "WHERE action = 'fhir_export' ORDER BY id"
        ).fetchall()
    return [tuple(row) for row in rows]


def test_export_fhir_end_to_end(site: dict[str, str], tmp_path: Path) -> None:
    clinic_file = tmp_path / "clinic.json"
    done = alliance(site, "export", "fhir", "--output", str(clinic_file))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(clinic_file.stat().st_mode) == 0o600  # names and answers: owner only
    clinic = json.loads(clinic_file.read_text("utf-8"))
    Bundle.model_validate(clinic)
    assert len(patients(clinic)) == 10  # the demo's caseload, exported as its clinic admin
    codes = {
        e["resource"]["code"]["coding"][0]["code"]
        for e in clinic["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    assert {"44261-6", "70274-6"} <= codes

    own_file = tmp_path / "own.json"
    done = alliance(site, "export", "fhir", "--user", "counselor", "-o", str(own_file))
    assert done.returncode == 0, done.stderr
    own = patients(json.loads(own_file.read_text("utf-8")))
    assert own and own < patients(clinic)
    one = sorted(own)[0]
    done = alliance(
        site, "export", "fhir", "--user", "counselor", "--client", one, "-o", str(own_file)
    )
    assert done.returncode == 0, done.stderr
    assert patients(json.loads(own_file.read_text("utf-8"))) == {one}

    other = sorted(patients(clinic) - own)[0]
    refused = tmp_path / "refused.json"
    done = alliance(
        site, "export", "fhir", "--user", "counselor", "--client", other, "-o", str(refused)
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: no client") and not refused.exists()

    assert exports(site) == [
        ("admin", "clinic", "1", "ok"),
        ("counselor", "clinic", "1", "ok"),
        ("counselor", "client", one, "ok"),
        ("counselor", "client", other, "denied"),
    ]
    verified = alliance(site, "audit", "verify")
    assert verified.returncode == 0, verified.stdout


def test_export_refusals(site: dict[str, str], tmp_path: Path) -> None:
    done = alliance(site, "export", "fhir", "--user", "nobody", "-o", str(tmp_path / "x.json"))
    assert (done.returncode, done.stderr) == (2, "error: no active clinic user 'nobody'\n")
    done = alliance(site, "export", "fhir", "-o", str(tmp_path / "missing" / "x.json"))
    assert done.returncode == 2
    assert done.stderr == f"error: no such directory: {tmp_path / 'missing'}\n"
