"""On SQLite, writers from every thread and server process queue in the kernel for one lock
beside the database (``alliance.web.sqlite_backend``): a transaction holds it from ``BEGIN`` to
``COMMIT`` or ``ROLLBACK``, and a process that dies holding it never blocks the clinic."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from alliance.web.accounts.models import Throttle

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend's own lock"),
]


def _queue_file() -> Path:
    return Path(f"{connection.settings_dict['NAME']}-writers")


def _queue_is_free() -> bool:
    """Whether another holder could take the writers' lock now."""
    fd = os.open(_queue_file(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the lock if it was taken
    return True


@contextmanager
def transaction_in_another_thread(fail: bool = False) -> Iterator[threading.Event]:
    """A thread with its own connection inside ``atomic()`` until the yielded event is set."""
    inside, done = threading.Event(), threading.Event()

    def work() -> None:
        try:
            with transaction.atomic():
                Throttle.objects.create(key="held", window_start=timezone.now())
                inside.set()
                done.wait(10)
                if fail:
                    raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    assert inside.wait(10)
    try:
        yield done
    finally:
        done.set()
        thread.join(10)


@pytest.mark.parametrize("fail", [False, True], ids=["commit", "rollback"])
def test_a_transaction_holds_the_writers_lock_until_it_ends(fail: bool) -> None:
    with transaction_in_another_thread(fail) as done:
        assert not _queue_is_free()
        done.set()
    assert _queue_is_free()
    assert Throttle.objects.filter(key="held").exists() is not fail


def test_reads_outside_a_transaction_do_not_queue() -> None:
    with transaction_in_another_thread():
        assert Throttle.objects.filter(key="other").count() == 0  # WAL: no wait for the writer


def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next() -> None:
    script = (
        "import django, sys, time; django.setup()\n"
        "from django.db import transaction\nfrom django.utils import timezone\n"
        "from alliance.web.accounts.models import Throttle\n"
        "with transaction.atomic():\n"
        "    Throttle.objects.create(key='killed', window_start=timezone.now())\n"
        "    print('inside', flush=True); time.sleep(60)\n"
    )
    env = os.environ | {"DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}"}
    child = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "inside"
        assert not _queue_is_free()
        child.kill()
        child.wait(10)
        with transaction.atomic():
            Throttle.objects.create(key="after", window_start=timezone.now())
    finally:
        child.kill()
    assert list(Throttle.objects.values_list("key", flat=True)) == ["after"]


def test_a_new_database_file_is_private_before_anything_is_written(tmp_path: Path) -> None:
    script = "import django; django.setup()\nfrom django.db import connection\nconnection.ensure_connection()\n"
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120, umask=0o022)
    assert (tmp_path / "new.sqlite3").stat().st_mode & 0o777 == 0o600
