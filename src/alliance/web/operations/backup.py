"""Backup and restore: one file with a manifest line and the database dump.

The file starts with ``alliance-backup 1``, then one line of JSON (engine, app version, applied
migrations, the key check value, the dump's size and SHA-256), then the dump itself: a SQLite
database made with SQLite's online backup API, or ``pg_dump --format=custom``. Both are
consistent copies of a database that is being served. Restore goes into an empty database of
the same engine only, and only with keys that read the backup's key check value, so it never
mixes two sites or writes rows nobody can read.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from alliance import __version__
from alliance.web.operations.keycheck import (
    OperationError,
    decrypts,
    mismatch,
    stored_check_value,
)
from alliance.web.operations.models import KNOWN_VALUE

MAGIC = b"alliance-backup 1\n"
MAX_MANIFEST = 1024 * 1024
CHUNK = 1024 * 1024
ENGINES = ("sqlite", "postgresql")


@dataclass
class Manifest:
    engine: str
    app_version: str
    created: str
    migrations: list[str]
    key_check: str
    payload_bytes: int = 0
    payload_sha256: str = ""


def backup(target: Path, using: str = "default") -> Manifest:
    """Write a consistent copy of the database to ``target`` (a new 0600 file)."""
    connection = connections[using]
    engine = _engine(connection.vendor)
    if target.exists():
        raise OperationError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise OperationError(f"folder {target.parent} does not exist")
    token = stored_check_value(using)
    if token is None:
        raise OperationError("this database has no key check value yet; run `alliance serve` once")
    manifest = Manifest(
        engine=engine,
        app_version=__version__,
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        migrations=sorted(
            f"{a}.{n}" for a, n in MigrationRecorder(connection).applied_migrations()
        ),
        key_check=token,
    )
    with _scratch(target.parent) as dump:
        if engine == "sqlite":
            _sqlite_copy(_sqlite_name(connection.settings_dict), str(dump), source_read_only=True)
        else:
            _pg_tool(
                "pg_dump",
                ["--format=custom", "--no-owner", "--no-privileges", "--file", str(dump)],
                connection.settings_dict,
            )
        manifest.payload_bytes, manifest.payload_sha256 = _digest(dump)
        _write_backup(target, manifest, dump)
    return manifest


def read_manifest(source: Path) -> Manifest:
    """The manifest of a backup file, refusing anything that is not one."""
    with _open(source) as handle:
        return _manifest(handle, source)


def restore(source: Path, using: str = "default") -> Manifest:
    """Load a backup into this (empty) database, after every check that can refuse it."""
    connection = connections[using]
    manifest = read_manifest(source)
    _refuse(manifest, source, connection)
    with _scratch(Path(tempfile.gettempdir())) as dump:
        _extract(source, manifest, dump)
        if manifest.engine == "sqlite":
            connection.close()
            _sqlite_copy(str(dump), _sqlite_name(connection.settings_dict))
        else:
            _pg_tool(
                "pg_restore",
                [
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                    f"--dbname={connection.settings_dict['NAME']}",
                    str(dump),
                ],
                connection.settings_dict,
            )
    return manifest


def _refuse(manifest: Manifest, source: Path, connection: Any) -> None:
    """Every reason not to restore, checked before anything is written."""
    engine = _engine(connection.vendor)
    if manifest.engine != engine:
        raise OperationError(
            f"{source} is a {manifest.engine} backup and this database is {engine}; "
            f"restore it into a {manifest.engine} database"
        )
    _refuse_newer(manifest, source)
    folder = Path(_sqlite_name(connection.settings_dict)).parent
    if engine == "sqlite" and not folder.is_dir():
        raise OperationError(f"folder {folder} does not exist")
    if not decrypts(manifest.key_check, KNOWN_VALUE):
        raise mismatch("this backup", "made")
    tables = connection.introspection.table_names()
    if tables:
        raise OperationError(
            f"database {connection.settings_dict['NAME']} is not empty ({len(tables)} tables); "
            "restore needs a new, empty database"
        )


def _engine(vendor: str) -> str:
    if vendor not in ENGINES:
        raise OperationError(f"backup and restore support SQLite and PostgreSQL, not {vendor}")
    return vendor


def _refuse_newer(manifest: Manifest, source: Path) -> None:
    """An older backup restores and then migrates forward; a newer one cannot be understood."""
    known = {
        f"{a}.{n}" for a, n in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    }
    unknown = sorted(set(manifest.migrations) - known)
    if unknown:
        raise OperationError(
            f"{source} comes from alliance {manifest.app_version}, newer than this "
            f"{__version__} (unknown migrations: {', '.join(unknown[:3])}); "
            f"restore it with alliance {manifest.app_version}"
        )


@contextmanager
def _scratch(folder: Path) -> Iterator[Path]:
    """A private temporary file for the raw dump, removed afterwards."""
    fd, name = tempfile.mkstemp(prefix=".alliance-dump-", dir=folder)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _sqlite_name(settings_dict: dict[str, Any]) -> str:
    return str(settings_dict["NAME"])


def _sqlite_copy(source: str, target: str, source_read_only: bool = False) -> None:
    """Copy with SQLite's online backup API: one step, so a consistent snapshot."""
    uri = Path(source).resolve().as_uri() + ("?mode=ro" if source_read_only else "")
    src = sqlite3.connect(uri, uri=True, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for the database Django uses (no password on the command line)."""
    env = os.environ.copy()
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env


def _pg_tool(tool: str, args: list[str], settings_dict: dict[str, Any]) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise OperationError(
            f"{tool} not found; install the PostgreSQL client tools (postgresql-client)"
        )
    proc = subprocess.run(
        [exe, *args], env=_pg_env(settings_dict), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        raise OperationError(f"{tool} failed: {lines[-1] if lines else f'exit {proc.returncode}'}")


def _digest(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def _write_backup(target: Path, manifest: Manifest, dump: Path) -> None:
    """Header, manifest and dump into a new 0600 file; a failure leaves no partial file."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OperationError(f"{target} already exists; choose a new file name") from None
    try:
        with os.fdopen(fd, "wb") as out, dump.open("rb") as payload:
            out.write(MAGIC)
            out.write(json.dumps(asdict(manifest)).encode("utf-8") + b"\n")
            shutil.copyfileobj(payload, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


@contextmanager
def _open(source: Path) -> Iterator[BinaryIO]:
    try:
        with source.open("rb") as handle:
            yield handle
    except FileNotFoundError:
        raise OperationError(f"{source} does not exist") from None
    except IsADirectoryError:
        raise OperationError(f"{source} is a directory, not a backup file") from None


def _manifest(handle: BinaryIO, source: Path) -> Manifest:
    if handle.readline(len(MAGIC) + 1) != MAGIC:
        raise OperationError(f"{source} is not an alliance backup")
    try:
        data = json.loads(handle.readline(MAX_MANIFEST))
        return Manifest(**data)
    except (ValueError, TypeError):
        raise OperationError(
            f"{source} has a damaged manifest; it is not a usable backup"
        ) from None


def _extract(source: Path, manifest: Manifest, dump: Path) -> None:
    """Copy the dump out of the backup, refusing a truncated or altered one."""
    sha = hashlib.sha256()
    size = 0
    with _open(source) as handle, dump.open("wb") as out:
        _manifest(handle, source)
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size != manifest.payload_bytes or sha.hexdigest() != manifest.payload_sha256:
        raise OperationError(f"{source} is damaged or truncated (its checksum does not match)")
