"""`alliance serve` in a subprocess on a database of its own, for tests that need a real server
(concurrent requests, a real browser): the one way the tests start one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def own_database(tmp: Path) -> Iterator[str]:
    """A SQLite file, or a fresh PostgreSQL database on the server in DATABASE_URL."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{tmp / 'served.sqlite3'}"
        return
    import psycopg

    server = base.rsplit("/", 1)[0]
    name = f"alliance_served_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def served(
    home: Path, database_url: str, setup: str, *, worker: bool = False, **settings: str
) -> Iterator[str]:
    """Migrate, run ``setup`` (Python, after django.setup()), serve (with its background worker
    when ``worker``); yield the base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))}
    env |= {
        "DATABASE_URL": database_url,
        "ALLIANCE_WEB_DIR": str(home),
        "ALLIANCE_DATA_DIR": str(home / "data"),
        "DJANGO_SETTINGS_MODULE": "alliance.web.settings",
        **settings,
    }
    script = "import django\ndjango.setup()\nfrom django.core.management import call_command\n"
    script += 'call_command("migrate", interactive=False, verbosity=0)\n' + setup
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    port = free_port()
    exe = Path(sys.executable).with_name("alliance")
    args = ["serve", "--port", str(port)] + ([] if worker else ["--no-worker"])
    with (home / "server.log").open("w") as log:
        proc = subprocess.Popen(
            [str(exe), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(url + "/healthz", proc)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")
