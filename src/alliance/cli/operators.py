"""``alliance operator``: platform operators, the only users Django admin (``/admin/``) lets in.

An operator is an active superuser of no clinic; clinic admins manage their own clinic in the
app instead. Django is imported only inside the commands, so the CLI stays quick to start.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from alliance.cli._common import fail
from alliance.cli.web import _django, _migrate

PASSWORD_ENV = "ALLIANCE_OPERATOR_PASSWORD"

operator_app = typer.Typer(help="Platform operators: the only users of Django admin (/admin/).")


def register(app: typer.Typer) -> None:
    app.add_typer(operator_app, name="operator")


@operator_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name of the new operator.")],
    email: Annotated[str, typer.Option("--email", help="Contact address (optional).")] = "",
) -> None:
    """Create a platform operator; the password is prompted for, or read from
    ALLIANCE_OPERATOR_PASSWORD when that is set (for scripts)."""
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    _django()
    _migrate()
    from alliance.web.accounts.services import StaffRefused, create_operator

    try:
        user = create_operator(username, email, password)
    except StaffRefused as exc:
        fail(str(exc))
    typer.echo(f"operator {user.username} created; sign in at /admin/")


@operator_app.command("list")
def list_operators() -> None:
    """List the platform operators (active ones first)."""
    _django()
    _migrate()
    from alliance.web.accounts.services import operators

    for user in operators():
        typer.echo(f"{user.username}\t{'active' if user.is_active else 'inactive'}")
