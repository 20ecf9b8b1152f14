"""``alliance keys check|rotate``, ``alliance backup`` and ``alliance restore``.

Thin commands over ``alliance.web.operations``; every refusal is one ``error:`` line, exit 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from alliance.cli._common import fail
from alliance.cli.web import _check_keys, _django, _migrate, open_web_database

keys_app = typer.Typer(
    help="Field-encryption keys: check that they read the database, rotate to a new one.",
    no_args_is_help=True,
)

FileArgument = Annotated[Path, typer.Argument(help="The backup file.", show_default=False)]


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal, a database error or an unwritable file: one ``error:`` line, exit 2."""
    from django.db import DatabaseError

    from alliance.web.operations.keycheck import OperationError

    try:
        yield
    except OperationError as exc:
        fail(str(exc))
    except DatabaseError as exc:
        fail(f"database: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}")
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)


@keys_app.command("check")
def keys_check_command() -> None:
    """Check that ALLIANCE_FIELD_KEYS decrypt this database (exit 2 when they do not)."""
    open_web_database()
    typer.echo("ok: the field keys decrypt this database")


@keys_app.command("rotate")
def keys_rotate_command(
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Values re-encrypted per transaction.")
    ] = 200,
) -> None:
    """Re-encrypt every encrypted value under the first key of ALLIANCE_FIELD_KEYS.

    Safe while the site runs and safe to repeat; once it reports, the other keys can go.
    """
    open_web_database()
    from alliance.web.operations.rotation import rotate

    with _refusals():
        result = rotate(batch_size=batch_size)
    for column in result.columns:
        typer.echo(
            f"{column.label}: {column.rotated} re-encrypted, {column.current} already current"
        )
    typer.echo(
        f"rotated: {result.rotated} values re-encrypted under the first key, "
        f"{result.current} already under it"
    )


def backup_command(file: FileArgument) -> None:
    """Write a consistent copy of the database (also while it is being served) to FILE."""
    open_web_database()
    from alliance.web.operations.backup import backup

    with _refusals():
        manifest = backup(file)
    typer.echo(
        f"backup: {file} ({manifest.engine}, alliance {manifest.app_version}, "
        f"{manifest.payload_bytes} bytes); keep the field keys and secret key apart from it"
    )


def restore_command(file: FileArgument) -> None:
    """Load a backup FILE into an empty database (DATABASE_URL) with the keys it was made with."""
    _django()
    from alliance.web.operations.backup import restore

    with _refusals():
        manifest = restore(file)
    _migrate()
    _check_keys()
    typer.echo(
        f"restored: {file} ({manifest.engine}, alliance {manifest.app_version}, "
        f"made {manifest.created})"
    )
