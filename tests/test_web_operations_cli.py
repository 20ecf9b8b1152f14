"""Operating a real site: key checks at start-up, key rotation, backup and restore.

Every test runs the real ``alliance`` commands in subprocesses against a database of its own
(SQLite files, or fresh PostgreSQL databases when DATABASE_URL is postgres) and reads the
caseload through the real login form, as a counselor would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from alliance import __version__

ALLIANCE = str(Path(sys.executable).with_name("alliance"))
PASSWORD = "ops-Counselor-pass-7"
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
BASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_URL.startswith("postgres")
SERVER_URL = BASE_URL.rsplit("/", 1)[0]
ADMIN_URL = SERVER_URL + "/postgres"  # CREATE and DROP DATABASE run from the maintenance database
WRONG_KEYS = (
    "error: ALLIANCE_FIELD_KEYS cannot decrypt this database (written with other keys); "
    "set the keys it was written with"
)
SEED = f"""
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from alliance.web.demo import seed
seed({PASSWORD!r})
"""


def clean_env(**values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALLIANCE_", "DJANGO_")) and k != "DATABASE_URL"
    }
    return env | values


def site_env(home: Path, database_url: str, keys: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return clean_env(
        DATABASE_URL=database_url,
        ALLIANCE_WEB_DIR=str(home),
        ALLIANCE_DATA_DIR=str(home / "data"),
        ALLIANCE_FIELD_KEYS=keys,
        ALLIANCE_SECRET_KEY="ops-test-secret-key-" + "x" * 40,
    )


def alliance(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ALLIANCE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


class Databases:
    """Fresh databases for one test: SQLite files, or PostgreSQL databases dropped afterwards."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[str] = []

    def empty(self) -> str:
        name = f"db_{uuid.uuid4().hex[:10]}"
        if not ON_POSTGRES:
            return f"sqlite:///{self.folder / name}.sqlite3"
        import psycopg

        name = f"{BASE_URL.rsplit('/', 1)[1]}_{name}"  # h_keys_db_…: the helper's own prefix
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return f"{SERVER_URL}/{name}"

    def demo(self, keys: str = KEY_A) -> str:
        """The demo clinic, written with ``keys``."""
        url = self.empty()
        env = site_env(self.folder / uuid.uuid4().hex, url, keys)
        if ON_POSTGRES:
            env["DJANGO_SETTINGS_MODULE"] = "alliance.web.settings"
            subprocess.run([sys.executable, "-c", SEED], env=env, check=True, timeout=300)
        else:
            path = url.removeprefix("sqlite:///")
            done = alliance(env, "demo", "--no-serve", "--db", path, "--password", PASSWORD)
            assert done.returncode == 0, done.stderr
        return url

    def drop(self) -> None:
        if not self.made:
            return
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[Databases]:
    made = Databases(tmp_path)
    try:
        yield made
    finally:
        made.drop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def running(
    command: list[str], env: dict[str, str], port: int, cwd: Path | None = None
) -> Iterator[str]:
    """A server process, once its /healthz answers 200; stopped afterwards."""
    # Output to a file, not a pipe: a chatty server never blocks on it.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not healthy(url):
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"server exited with {proc.returncode}: {log.read()!r}")
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def served(env: dict[str, str]) -> AbstractContextManager[str]:
    port = free_port()
    return running([ALLIANCE, "serve", "--no-worker", "--port", str(port)], env, port)


def current(clients: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The demo counselor's current clients (the past ones of the demo history are marked)."""
    return [(link, name) for link, name in clients if not name.endswith("(past)")]


def caseload(url: str, username: str = "counselor") -> list[tuple[str, str]]:
    """Log in through the login form and list the caseload's clients (link, name)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    login = url + "/accounts/login/"
    with opener.open(login, timeout=30) as response:
        form = response.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert match, "no CSRF token on the login page"
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "username": username, "password": PASSWORD}
    ).encode()
    request = urllib.request.Request(login, data=data, headers={"Referer": login})
    with opener.open(request, timeout=30) as response:
        assert response.url == url + "/", "login failed"
        page = response.read().decode()
    return re.findall(r'<th scope="row"><a href="(/clients/\d+/)">([^<]+)</a></th>', page)


def test_serving_a_database_with_other_keys_is_refused_with_one_line(
    tmp_path: Path, databases: Databases
) -> None:
    url = databases.demo(KEY_A)
    env = site_env(tmp_path / "site", url, KEY_B)
    port = free_port()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [ALLIANCE, "serve", "--no-worker", "--port", str(port)], env=env, stderr=err, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None:
                started = healthy(f"http://127.0.0.1:{port}")
                assert not started, "it started with keys that cannot read its database"
                assert time.monotonic() < deadline, "neither refused nor started"
                time.sleep(0.3)
        finally:
            proc.kill()
            proc.wait()
        err.seek(0)
        assert proc.returncode == 2
        assert err.read().strip().splitlines() == [WRONG_KEYS]
    worker = alliance(env, "worker", "--batch")
    assert (worker.returncode, worker.stderr.strip()) == (2, WRONG_KEYS)


@pytest.mark.skipif(ON_POSTGRES, reason="the demo builds a SQLite file")
def test_the_demos_serve_line_serves_the_demo(tmp_path: Path) -> None:
    """Following the printed "Serve it with:" line reaches the demo with the demo's keys."""
    env = clean_env(ALLIANCE_DATA_DIR=str(tmp_path / "data"))  # keys of its own, elsewhere
    port = free_port()
    db = tmp_path / "var" / "demo.sqlite3"
    built = subprocess.run(
        [
            ALLIANCE,
            "demo",
            "--no-serve",
            "--db",
            str(db),
            "--password",
            PASSWORD,
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    line = re.search(r"^Serve it with: (.*)$", built.stdout, re.M)
    assert line and line.group(1).endswith(f"alliance serve --port {port}")
    command = line.group(1).replace("alliance serve", f"{shlex.quote(ALLIANCE)} serve --no-worker")
    with running(["bash", "-c", f"exec env {command}"], env, port, cwd=tmp_path) as url:
        assert len(current(caseload(url))) == 5


def test_a_backup_of_a_served_site_restores_with_the_same_caseload(
    tmp_path: Path, databases: Databases
) -> None:
    env = site_env(tmp_path / "site", databases.demo(KEY_A), KEY_A)
    backup = tmp_path / "site.alliance"
    with served(env) as url:
        before = caseload(url)
        made = alliance(env, "backup", str(backup))
        assert made.returncode == 0, made.stderr
        assert caseload(url) == before  # still serving
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    restored_env = site_env(tmp_path / "restored", databases.empty(), KEY_A)
    restored = alliance(restored_env, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    with served(restored_env) as url:
        after = caseload(url)
    assert len(current(before)) == 5
    assert after == before


def test_restore_refuses_other_keys_a_non_empty_database_and_a_damaged_file(
    tmp_path: Path, databases: Databases
) -> None:
    source = databases.demo(KEY_A)
    backup = tmp_path / "site.alliance"
    assert (
        alliance(site_env(tmp_path / "site", source, KEY_A), "backup", str(backup)).returncode == 0
    )
    empty = databases.empty()

    other_keys = alliance(site_env(tmp_path / "b", empty, KEY_B), "restore", str(backup))
    assert other_keys.returncode == 2
    assert other_keys.stderr.strip() == (
        "error: ALLIANCE_FIELD_KEYS cannot decrypt this backup (made with other keys); "
        "set the keys it was made with"
    )
    into_full = alliance(site_env(tmp_path / "full", source, KEY_A), "restore", str(backup))
    assert into_full.returncode == 2
    assert re.fullmatch(
        r"error: database \S+ is not empty \(\d+ tables\); restore needs a new, empty database",
        into_full.stderr.strip(),
    )
    damaged = tmp_path / "damaged.alliance"
    damaged.write_bytes(backup.read_bytes()[:-100])
    truncated = alliance(site_env(tmp_path / "a", empty, KEY_A), "restore", str(damaged))
    assert truncated.returncode == 2
    assert truncated.stderr.strip() == (
        f"error: {damaged} is damaged or truncated (its checksum does not match)"
    )
    header, manifest, dump = backup.read_bytes().split(b"\n", 2)
    future = json.loads(manifest) | {"app_version": "9.0.0"}
    future["migrations"] = [*future["migrations"], "clinic.9999_future"]
    newer = tmp_path / "newer.alliance"
    newer.write_bytes(b"\n".join([header, json.dumps(future).encode(), dump]))
    too_new = alliance(site_env(tmp_path / "a", empty, KEY_A), "restore", str(newer))
    assert (too_new.returncode, too_new.stderr.strip()) == (
        2,
        f"error: {newer} comes from alliance 9.0.0, newer than this {__version__} (unknown migrations: "
        "clinic.9999_future); restore it with alliance 9.0.0",
    )
    # Nothing was written by the refusals: the same empty database takes the backup.
    assert alliance(site_env(tmp_path / "a", empty, KEY_A), "restore", str(backup)).returncode == 0


def test_after_rotation_the_site_serves_with_the_new_key_alone(
    tmp_path: Path, databases: Databases
) -> None:
    url = databases.demo(KEY_A)
    with served(site_env(tmp_path / "a", url, KEY_A)) as site:
        before = caseload(site)
    both = site_env(tmp_path / "ba", url, f"{KEY_B},{KEY_A}")
    with served(both) as site:  # rotation runs while the site is serving
        first = alliance(both, "keys", "rotate", "--batch-size", "7")
        assert first.returncode == 0, first.stderr
        assert caseload(site) == before
        again = alliance(both, "keys", "rotate")
    rotated = re.search(
        r"^rotated: (\d+) values re-encrypted under the first key, 0 already", first.stdout, re.M
    )
    assert rotated and int(rotated.group(1)) > 0
    assert (
        f"rotated: 0 values re-encrypted under the first key, {rotated.group(1)} already under it"
        in again.stdout
    )
    new_only = site_env(tmp_path / "b", url, KEY_B)
    assert alliance(new_only, "keys", "check").returncode == 0
    with served(new_only) as site:
        assert caseload(site) == before


def test_sqlite_databases_are_created_private(tmp_path: Path) -> None:
    """The database holds health data: 0600 like the keys, whatever the umask."""
    script = (
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', verbosity=0)"
    )
    default = clean_env(
        ALLIANCE_WEB_DIR=str(tmp_path / "web"), DJANGO_SETTINGS_MODULE="alliance.web.settings"
    )
    explicit = default | {"DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}"}
    for env in (default, explicit):
        subprocess.run(
            [sys.executable, "-c", script], env=env, check=True, timeout=300, umask=0o022
        )
    for path in (tmp_path / "web" / "alliance.sqlite3", tmp_path / "site.sqlite3"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


@pytest.mark.skipif(not ON_POSTGRES, reason="needs a database server that can go away")
def test_healthz_is_503_when_the_database_is_gone(tmp_path: Path, databases: Databases) -> None:
    url = databases.empty()
    with served(site_env(tmp_path / "site", url, KEY_A)) as site:
        databases.drop()
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(site + "/healthz", timeout=30)
        assert failure.value.code == 503
        assert failure.value.read() == b"database unavailable"
