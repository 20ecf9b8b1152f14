"""``alliance tokens``: personal access tokens for the REST API, issued by an operator.

A token acts as its user (it sees what they see), so only someone with the server's shell
creates one for another user; staff make their own on the token page after signing in (with
their clinic's two-factor). The secret is printed once; only its SHA-256 digest is kept.
"""

from __future__ import annotations

from typing import Annotated

import typer

from alliance.cli._common import fail
from alliance.cli.web import _django, _migrate

tokens_app = typer.Typer(help="Personal access tokens for the REST API (docs/api.md).")


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The staff user the token acts as.")],
    scope: Annotated[str, typer.Option("--scope", help="read, or write (also changes).")],
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", help="Days until it expires (default 90).")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label to tell tokens apart.")] = "",
) -> None:
    """Create a token and print its secret (shown only this once) on stdout."""
    _django()
    _migrate()
    from alliance.web.accounts.models import User
    from alliance.web.api import actions
    from alliance.web.api.services import DEFAULT_DAYS, TokenError, create_token
    from alliance.web.audit.log import record

    user = User.objects.filter(username=username).first()
    if user is None:
        fail(f"no user {username!r}")
    try:
        days = DEFAULT_DAYS if expires_days is None else expires_days
        issued = create_token(user, scope, days=days, name=name)
    except TokenError as exc:
        fail(str(exc))
    record(None, actions.TOKEN_CREATE, issued.token, clinic_id=user.clinic_id)
    typer.echo(issued.secret)
    typer.echo(
        f"token {issued.token.pk} ({issued.token.scope}) for {user.username}, "
        f"expires {issued.token.expires_at:%Y-%m-%d}; it is not shown again",
        err=True,
    )


@tokens_app.command("list")
def list_tokens(
    username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
) -> None:
    """List tokens (id, user, scope, status, expiry, last use); never their secrets."""
    _django()
    _migrate()
    from alliance.web.api.models import ApiToken

    rows = ApiToken.objects.select_related("owner").order_by("id")
    if username is not None:
        rows = rows.filter(owner__username=username)
    for t in rows:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        typer.echo(
            f"{t.pk}\t{t.owner.username}\t{t.prefix}…\t{t.scope}\t{t.status}\t"
            f"expires {t.expires_at:%Y-%m-%d}\tused {used}\t{t.name}"
        )


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="The id `tokens list` shows.")],
) -> None:
    """Revoke a token at once; calls with it are refused from then on."""
    _django()
    _migrate()
    from alliance.web.api import actions
    from alliance.web.api.models import ApiToken
    from alliance.web.api.services import revoke
    from alliance.web.audit.log import record

    token = ApiToken.objects.select_related("owner").filter(pk=token_id).first()
    if token is None:
        fail(f"no token {token_id}")
    if not revoke(token):
        fail(f"token {token_id} was already revoked")
    record(None, actions.TOKEN_REVOKE, token, clinic_id=token.owner.clinic_id)
    typer.echo(f"token {token_id} revoked")
