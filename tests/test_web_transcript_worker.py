"""Background analysis survives its worker: real ``alliance worker`` and ``alliance serve``
processes on a database file (or a PostgreSQL database of their own), killed mid-job.

A worker killed with ``kill -9`` leaves its transcript RUNNING; the next worker requeues it
once the lease expires and finishes it. A server stopped normally (SIGTERM) hands the running
job back to the queue at once. A second worker never takes a job whose lease is live, and a
duplicate queue entry never makes two workers analyse one transcript.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks.synthetic_transcripts import long_session

LEASE_SECONDS = 5  # short, so the tests see a dead worker's lease expire; live ones renew it
SETUP = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from alliance.web.accounts.models import Clinic, Role, Team, User
from alliance.web.clinic.services import create_client, next_session
from alliance.web.transcripts import tasks
from alliance.web.transcripts.services import store_upload
clinic = Clinic.objects.create(name="Worker clinic")
team = Team.objects.create(clinic=clinic, name="Team")
user = User.objects.create(username="couns", role=Role.COUNSELOR, clinic=clinic, team=team)
client = create_client(clinic, user, "Alex Worker")
session = next_session(client.current_episode())
transcript = store_upload(session, user, Path(sys.argv[1]).read_bytes(), "long-session.txt")
for _ in range(int(sys.argv[2])):  # extra queue entries for the same transcript
    tasks.enqueue(transcript.pk)
print(json.dumps(transcript.pk))
"""


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database the worker processes share: a SQLite file, or a fresh PostgreSQL database."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{tmp_path_factory.mktemp('worker-db') / 'worker.sqlite3'}"
        return
    import psycopg

    server, base_name = base.rsplit("/", 1)
    name = f"{base_name}_worker_{uuid.uuid4().hex[:8]}"  # named after the run's own database
    admin = f"{server}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Site:
    """One database and the processes run against it."""

    def __init__(self, home: Path, url: str) -> None:
        self.home = home
        self.url = url
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))
        }
        self.env |= {
            "DATABASE_URL": url,
            "ALLIANCE_WEB_DIR": str(home),
            "ALLIANCE_DATA_DIR": str(home / "data"),
            "ALLIANCE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "DJANGO_SETTINGS_MODULE": "alliance.web.settings",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def store(self, turns: int = 3000, extra_entries: int = 0) -> int:
        """A stored, queued transcript (through the real upload service)."""
        path = self.home / "session.txt"
        path.write_bytes(long_session(turns).encode())
        out = subprocess.run(
            [sys.executable, "-c", SETUP, str(path), str(extra_entries)],
            env=self.env,
            check=True,
            timeout=300,
            capture_output=True,
        )
        return int(json.loads(out.stdout.decode().strip().splitlines()[-1]))

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        exe = Path(sys.executable).with_name("alliance")
        log = (self.home / f"proc-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen([str(exe), *args], env=self.env, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()

    def transcript(self, pk: int) -> tuple[str, int]:
        rows = self.query(f"SELECT status, attempts FROM transcripts_transcript WHERE id = {pk}")
        return str(rows[0][0]), int(rows[0][1])

    def queue(self) -> list[tuple[str, Any]]:
        rows = self.query("SELECT status, return_value FROM django_tasks_database_dbtaskresult")
        # SQLite gives the JSON text, PostgreSQL the decoded value.
        sqlite = self.url.startswith("sqlite")
        return [(str(s), json.loads(v) if sqlite and v is not None else v) for s, v in rows]

    def wait_for(self, pk: int, status: str, timeout: float = 300) -> None:
        until(lambda: self.transcript(pk)[0] == status, timeout, f"transcript {status}", self)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def until(check: Callable[[], bool], timeout: float, what: str, site: Site) -> None:
    """Poll for a state change (a wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in site.home.glob("proc-*.log"))
    raise AssertionError(f"gave up waiting for {what}; logs:\n{logs}")


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    else:  # a clean schema for each test in the module's database
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    running = Site(tmp_path, database_url)
    try:
        yield running
    finally:
        running.stop_all()


def test_a_job_left_running_by_a_killed_worker_is_requeued_and_finished(site: Site) -> None:
    pk = site.store()
    first = site.start("worker")
    site.wait_for(pk, "running")
    first.send_signal(signal.SIGKILL)  # no clean-up code runs: the row stays RUNNING
    first.wait(timeout=30)
    assert site.transcript(pk) == ("running", 1)
    site.start("worker")
    site.wait_for(pk, "done")
    assert site.transcript(pk) == ("done", 2)
    # The dead worker's queue entry no longer claims to be running.
    until(lambda: all(s != "RUNNING" for s, _ in site.queue()), 60, "queue clean-up", site)


def test_stopping_the_server_mid_job_hands_the_job_back(site: Site) -> None:
    pk = site.store(turns=6000)  # outlasts the grace the server gives its worker child
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = site.start("serve", "--port", str(port))  # with its worker child
    site.wait_for(pk, "running")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    assert site.transcript(pk) == ("queued", 0)  # back in the queue; the attempt not counted
    assert any(status == "READY" for status, _ in site.queue())
    batch = site.start("worker", "--batch")
    assert batch.wait(timeout=300) == 0
    assert site.transcript(pk) == ("done", 1)


def test_a_second_worker_never_takes_a_job_whose_lease_is_live(site: Site) -> None:
    pk = site.store(extra_entries=1)  # two queue entries for one transcript
    site.start("worker")
    site.wait_for(pk, "running")
    site.start("worker")  # recovers stale jobs at start, then takes the duplicate entry
    site.wait_for(pk, "done")
    assert site.transcript(pk) == ("done", 1)  # claimed once: never stolen, never run twice
    until(
        lambda: len(site.queue()) == 2 and all(s == "SUCCESSFUL" for s, _ in site.queue()),
        60,
        "both queue entries finished",
        site,
    )
    assert sorted(v for _, v in site.queue()) == ["done", "skipped"]


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_a_bad_lease_setting_stops_start_up_with_a_clear_message(
    value: str, tmp_path: Path
) -> None:
    site = Site(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env = site.env | {"ALLIANCE_JOB_LEASE_SECONDS": value}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "ALLIANCE_JOB_LEASE_SECONDS must be a whole number of at least 1" in done.stderr
