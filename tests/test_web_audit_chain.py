"""The audit trail's hash chain: every event is chained to the one before, so a row changed,
deleted, reordered or forged behind the app's back (raw SQL) is reported at the right event by
``alliance audit verify``; concurrent writers still make one linear chain; a deleted user's
events keep the user's id."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory
from django.urls import reverse
from typer.testing import CliRunner

from alliance.cli import app
from alliance.web.accounts.models import Role, User
from alliance.web.audit.hashing import GENESIS, event_hash
from alliance.web.audit.log import record
from alliance.web.audit.models import AuditChainHead, AuditEvent, AuditImmutableError
from alliance.web.audit.verify import verify_chain

from .web_fixtures import PASSWORD, World, logged_in, make_user, operator_client

TABLE = AuditEvent._meta.db_table


def write_events(n: int, action: str = "view") -> list[int]:
    return [record(None, action, object_type="client", object_id=i).pk for i in range(n)]


def raw(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def broken_at(expected_id: int, kind: str) -> None:
    report = verify_chain()
    assert report.first_break is not None, "tampering went unnoticed"
    assert (report.first_break.event_id, report.first_break.kind) == (expected_id, kind)


@pytest.mark.django_db
def test_every_event_is_chained_to_the_one_before(world: World) -> None:
    logged_in(world.counselor).get(reverse("dashboard:client", args=[world.own.pk]))
    write_events(3)
    rows = list(AuditEvent.objects.order_by("id").values("prev_hash", "hash"))
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    head = AuditChainHead.objects.get()
    assert (head.last_id, head.hash) == (
        AuditEvent.objects.order_by("id").last().pk,
        rows[-1]["hash"],
    )  # type: ignore[union-attr]


@pytest.mark.django_db
def test_an_untouched_chain_verifies_in_batches() -> None:
    write_events(7)
    report = verify_chain(batch=2)
    assert report.intact and report.events == 7
    assert report.last_hash == AuditChainHead.objects.get().hash


@pytest.mark.django_db
def test_values_the_database_stores_differently_still_verify(rf: RequestFactory) -> None:
    request = rf.get("/", REMOTE_ADDR="2001:0DB8:0000:0000:0000:0000:0000:0001")
    record(request, "view", object_type="client", object_id=12, clinic_id="7")  # type: ignore[arg-type]
    record(rf.get("/", REMOTE_ADDR="::ffff:10.0.0.1"), "view", outcome="denied")
    assert AuditEvent.objects.get(object_id="12").ip == "2001:db8::1"
    assert verify_chain().intact


@pytest.mark.django_db
def test_a_field_changed_with_raw_sql_is_reported_at_that_event() -> None:
    ids = write_events(5)
    raw(f"UPDATE {TABLE} SET outcome = 'ok-edited' WHERE id = %s", [ids[2]])
    broken_at(ids[2], "changed")
    report = verify_chain()
    assert report.events == 2 and report.first_break and report.first_break.at is not None


@pytest.mark.django_db
def test_a_row_deleted_with_raw_sql_is_reported_at_the_event_after_it() -> None:
    ids = write_events(5)
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [ids[1]])
    broken_at(ids[2], "deleted")


@pytest.mark.django_db
def test_deleting_the_newest_events_is_reported() -> None:
    ids = write_events(4)
    raw(f"DELETE FROM {TABLE} WHERE id >= %s", [ids[2]])
    broken_at(ids[3], "deleted")


@pytest.mark.django_db
def test_rows_swapped_with_raw_sql_are_reported_as_reordered() -> None:
    ids = write_events(4)
    a, b = ids[1], ids[2]
    raw(f"UPDATE {TABLE} SET id = %s WHERE id = %s", [-a, a])
    raw(f"UPDATE {TABLE} SET id = %s WHERE id = %s", [a, b])
    raw(f"UPDATE {TABLE} SET id = %s WHERE id = %s", [b, -a])
    broken_at(a, "reordered")


def _insert_forged(prev_hash: str, own_hash: str | None = None) -> int:
    """A row written with raw SQL, as someone with database access might."""
    at = AuditEvent.objects.order_by("id").last().at  # type: ignore[union-attr]
    values = {
        "at": at,
        "user_id": None,
        "username": "intruder",
        "clinic_id_ref": None,
        "action": "view",
        "object_type": "client",
        "object_id": "1",
        "outcome": "ok",
        "ip": None,
        "route": "",
    }
    digest = own_hash or event_hash(prev_hash, values)
    columns = [*values, "prev_hash", "hash"]
    params = [*values.values(), prev_hash, digest]
    raw(
        f"INSERT INTO {TABLE} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
        params,
    )
    return AuditEvent.objects.get(username="intruder").pk


@pytest.mark.django_db
def test_a_naively_forged_row_is_reported_at_that_row() -> None:
    write_events(3)
    forged = _insert_forged(AuditChainHead.objects.get().hash, own_hash="f" * 64)
    broken_at(forged, "forged")


@pytest.mark.django_db
def test_a_forged_row_with_a_correct_hash_is_caught_by_the_chain_head() -> None:
    write_events(3)
    forged = _insert_forged(AuditChainHead.objects.get().hash)
    broken_at(forged, "forged")


def rewrite_whole_chain() -> None:
    """What someone with write access to the database can do: change an event, then recompute
    every hash after it and the head, so the chain verifies on its own again."""
    raw(f"UPDATE {TABLE} SET username = 'someone-else' WHERE id = (SELECT MIN(id) FROM {TABLE})")
    prev = GENESIS
    for event in AuditEvent.objects.order_by("id"):
        digest = event_hash(prev, event.chain_values())
        raw(f"UPDATE {TABLE} SET prev_hash = %s, hash = %s WHERE id = %s", [prev, digest, event.pk])
        prev = digest
    raw(f"UPDATE {AuditChainHead._meta.db_table} SET hash = %s", [prev])


@pytest.mark.django_db
def test_a_kept_head_catches_a_chain_rewritten_from_the_start() -> None:
    write_events(3)
    kept = verify_chain()
    assert kept.last_id is not None
    write_events(2)
    rewrite_whole_chain()
    assert verify_chain().intact  # the chain alone cannot tell
    anchored = verify_chain(anchor=(kept.last_id, kept.last_hash))
    assert anchored.first_break is not None
    assert (anchored.first_break.event_id, anchored.first_break.kind) == (kept.last_id, "rewritten")


@pytest.mark.django_db
def test_a_kept_head_holds_while_events_are_appended_and_notices_it_gone() -> None:
    write_events(3)
    kept = verify_chain()
    assert kept.last_id is not None
    write_events(2)
    assert verify_chain(anchor=(kept.last_id, kept.last_hash)).intact
    assert not verify_chain(anchor=(kept.last_id + 50, kept.last_hash)).intact


@pytest.mark.django_db
def test_the_audit_page_shows_clinic_admins_the_chain_head(world: World) -> None:
    page = logged_in(world.admin).get(reverse("dashboard:audit")).content.decode()
    head = AuditChainHead.objects.get()
    assert f"{head.last_id}:{head.hash}" in page
    assert head.last_id == AuditEvent.objects.get(action="audit_view").pk  # the page's own read


@pytest.mark.django_db
def test_events_stay_append_only() -> None:
    (pk,) = write_events(1)
    event = AuditEvent.objects.get(pk=pk)
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.bulk_create([AuditEvent(action="x")])
    assert verify_chain().intact


@pytest.mark.django_db
def test_a_deleted_user_keeps_their_id_on_their_audit_events(world: World) -> None:
    leaver = make_user("leaver", Role.COUNSELOR, world.clinic, None)
    leaver_id = leaver.pk
    logged_in(leaver).get(reverse("dashboard:audit"))  # denied and audited
    assert AuditEvent.objects.filter(user_id=leaver_id).exists()
    leaver.delete()
    events = AuditEvent.objects.filter(username="leaver")
    assert events.exists()
    assert set(events.values_list("user_id", flat=True)) == {leaver_id}
    assert verify_chain().intact
    root = User.objects.create_superuser("root", password=PASSWORD)  # a platform operator
    shown = operator_client(root).get(reverse("admin:audit_auditevent_change", args=[events[0].pk]))
    assert shown.status_code == 200 and events[0].hash in shown.content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_event_rolled_back_with_its_transaction_leaves_the_chain_whole() -> None:
    write_events(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        record(None, "view", object_type="client", object_id="doomed")
        raise RuntimeError("the surrounding work failed")
    write_events(2)
    report = verify_chain()
    assert report.intact and report.events == 4
    assert not AuditEvent.objects.filter(object_id="doomed").exists()


def assert_linear(report_events: int, expected: int, prevs: list[str]) -> None:
    assert report_events == expected
    assert len(set(prevs)) == len(prevs)  # no two events claim the same predecessor


@pytest.mark.django_db(transaction=True)
def test_concurrent_writer_threads_make_one_linear_chain() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database has table locks; see the file test below")
    writers, each = 4, 10
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(each):
                if i % 2:
                    with transaction.atomic():  # inside a caller's transaction, as views do
                        record(None, "view", object_type="client", object_id=f"{n}-{i}")
                else:
                    record(None, "view", object_type="client", object_id=f"{n}-{i}")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    report = verify_chain()
    assert report.intact
    assert_linear(
        report.events, writers * each, list(AuditEvent.objects.values_list("prev_hash", flat=True))
    )


# A writer process: waits for the others, then appends events, half inside a transaction.
WRITER = """
import sys, time, pathlib, django
django.setup()
from django.db import transaction
from alliance.web.audit.log import record
n, each, sync = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
(sync / f"ready-{n}").touch()
while not (sync / "go").exists():
    time.sleep(0.01)
for i in range(each):
    with transaction.atomic():
        record(None, "view", object_type="client", object_id=f"{n}-{i}")
    record(None, "view", object_type="client", object_id=f"{n}-{i}b")
"""
MIGRATE = "import django; django.setup(); from django.core.management import call_command; call_command('migrate', verbosity=0)"


def file_env(db: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real SQLite database file with every migration applied, made once per module."""
    db = tmp_path_factory.mktemp("audit-db") / "alliance.sqlite3"
    subprocess.run([sys.executable, "-c", MIGRATE], env=file_env(db), check=True, timeout=300)
    return db


@pytest.fixture
def db_file(migrated_file: Path, tmp_path: Path) -> Path:
    db = tmp_path / "alliance.sqlite3"
    db.write_bytes(migrated_file.read_bytes())
    return db


def run_writers(db: Path, writers: int, each: int, sync: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n), str(each), str(sync)], env=file_env(db)
        )
        for n in range(writers)
    ]
    try:
        while len(list(sync.glob("ready-*"))) < writers and all(p.poll() is None for p in procs):
            threading.Event().wait(0.05)
        (sync / "go").touch()
        assert [p.wait(timeout=300) for p in procs] == [0] * writers
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def verify_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("alliance")
    return subprocess.run(
        [str(exe), "audit", "verify", *args],
        env=file_env(db),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_concurrent_writer_processes_on_a_sqlite_file_make_one_linear_chain(
    db_file: Path, tmp_path: Path
) -> None:
    run_writers(db_file, writers=4, each=8, sync=tmp_path)
    proc = verify_cli(db_file)
    assert (proc.returncode, proc.stdout.splitlines()[0]) == (0, "audit chain intact: 64 events")
    with sqlite3.connect(db_file) as db:
        prevs = [r[0] for r in db.execute(f"SELECT prev_hash FROM {TABLE}")]
    assert_linear(len(prevs), 64, prevs)


def test_the_verify_command_reports_tampering_in_a_database_file(
    db_file: Path, tmp_path: Path
) -> None:
    run_writers(db_file, writers=1, each=3, sync=tmp_path)
    intact = verify_cli(db_file, "--json")
    payload = json.loads(intact.stdout)
    assert intact.returncode == 0
    assert (payload["intact"], payload["events"], payload["first_break"]) == (True, 6, None)
    assert payload["head"]["event_id"] == 6 and len(payload["head"]["hash"]) == 64
    anchored = verify_cli(db_file, "--anchor", payload["head"]["anchor"])
    assert anchored.returncode == 0
    assert anchored.stdout.splitlines()[1].startswith(
        f"head: {payload['head']['anchor']} (event 6, "
    )
    bad = verify_cli(db_file, "--anchor", "latest")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.startswith("error: --anchor must be EVENT_ID:HASH")
    with sqlite3.connect(db_file) as db:
        db.execute(f"UPDATE {TABLE} SET username = 'someone-else' WHERE id = 4")
    text = verify_cli(db_file)
    assert text.returncode == 1
    assert text.stdout.startswith("audit chain broken at event 4 (")
    assert "changed" in text.stdout and "3 events before it are intact" in text.stdout
    as_json = verify_cli(db_file, "--json")
    assert as_json.returncode == 1
    brk = json.loads(as_json.stdout)["first_break"]
    assert (brk["event_id"], brk["kind"]) == (4, "changed")


def test_the_verify_command_has_help() -> None:
    result = CliRunner().invoke(app, ["audit", "verify", "--help"])
    assert result.exit_code == 0 and "--anchor" in result.stdout


def test_the_verify_command_refuses_a_missing_or_unmigrated_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    gone = verify_cli(missing)
    assert (gone.returncode, gone.stderr.strip()) == (
        2,
        f"error: no database at {missing} (set DATABASE_URL)",
    )
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    unmigrated = verify_cli(empty)
    assert unmigrated.returncode == 2
    assert unmigrated.stderr.startswith("error: cannot read the audit trail (no such table")
    assert "Traceback" not in unmigrated.stderr


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_events_already_stored(world: World) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0001_initial")])
    old = executor.loader.project_state([("audit", "0001_initial")]).apps
    OldEvent = old.get_model("audit", "AuditEvent")
    for i in range(5):
        OldEvent.objects.create(
            user_id=world.counselor.pk,
            username="couns_a",
            action="view",
            object_id=str(i),
            ip="::1",
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    report = verify_chain()
    assert report.intact and report.events == 5
    write_events(1)
    assert verify_chain().events == 6
