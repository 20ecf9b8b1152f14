"""``alliance demo`` and ``alliance serve``: the clinic web app on a production WSGI server.

Django is imported only inside the commands, so the rest of the CLI stays quick to start.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alliance.cli._common import fail

if TYPE_CHECKING:
    from alliance.web.accounts.models import User
    from alliance.web.serving import ServerConfig

DEFAULT_DEMO_DB = Path("var") / "alliance-demo.sqlite3"

HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", help="Port to listen on.")]


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
    app.command("serve")(serve_command)
    app.command("worker")(worker_command)


def _django() -> None:
    """Load the settings and apps; a bad setting is one error line and exit status 2."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alliance.web.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        fail(str(exc))


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _check_keys() -> None:
    """Refuse to run on a database the field keys cannot read: pages would fail with 500 and
    every row written meanwhile would stay unreadable once the right keys were back."""
    from alliance.web.operations.keycheck import KeyMismatch, ensure_key_check

    try:
        ensure_key_check()
    except KeyMismatch as exc:
        fail(str(exc))


def open_web_database() -> None:
    """What every command that reads or writes the web app's data does first: load Django on
    ``DATABASE_URL``, bring the schema up to date, and refuse a database the keys cannot read."""
    _django()
    _migrate()
    _check_keys()


def _serve(host: str, port: int, worker: bool = True, config: ServerConfig | None = None) -> None:
    """Serve the WSGI app with waitress (static files through whitenoise).

    With ``worker`` a background-job worker runs beside it as a child process, so a single
    command gives a working clinic; larger sites run ``alliance worker`` separately instead.
    Capacity and trusted-proxy settings come from ``alliance.web.serving``.
    """
    import waitress

    config = config or _server_config()
    from alliance.web.wsgi import application

    kwargs = config.waitress_kwargs()
    kwargs["connection_limit"] = _fit_open_files(config)
    child = _start_worker() if worker else None
    # Stop cleanly on SIGTERM too, so the worker child is never left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if config.processes == 1:
            waitress.serve(application, host=host, port=port, ident="alliance", **kwargs)
        else:
            from django.db import connections

            from alliance.web.serving import serve_forked

            connections.close_all()
            serve_forked(
                host,
                port,
                config.processes,
                lambda sockets: waitress.serve(
                    application, sockets=sockets, ident="alliance", **kwargs
                ),
            )
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:  # mid-analysis: the task marks itself failed
                child.kill()
                child.wait()


def _server_config() -> ServerConfig:
    """The ``ALLIANCE_*`` server settings; a bad value is one error line and exit status 2."""
    from django.core.exceptions import ImproperlyConfigured

    from alliance.web.serving import from_environ

    try:
        return from_environ(os.environ)
    except ImproperlyConfigured as exc:
        fail(str(exc))


def _fit_open_files(config: ServerConfig) -> int:
    from alliance.web.serving import ensure_open_files

    limit = ensure_open_files(config)
    if limit < config.connection_limit:
        typer.echo(
            f"note: the open-file limit (ulimit -n) allows only {limit} connections, "
            f"not {config.connection_limit}; raise it to serve more",
            err=True,
        )
    return limit


def _proxy_notes(config: ServerConfig) -> None:
    """Warn about the HTTPS set-up that would loop: TLS ends at a proxy nobody trusts."""
    from django.conf import settings

    scheme_from_proxy = (
        config.trusted_proxy is not None and "x-forwarded-proto" in config.trusted_proxy_headers
    )
    if settings.SECURE_SSL_REDIRECT and not scheme_from_proxy:
        typer.echo(
            "note: ALLIANCE_HTTPS is on but no trusted proxy reports the scheme "
            "(ALLIANCE_TRUSTED_PROXY, x-forwarded-proto), so every request is redirected",
            err=True,
        )


def _start_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "alliance", "worker"], env=os.environ.copy())


NoWorkerOption = Annotated[
    bool,
    typer.Option("--no-worker", help="Do not start a background-job worker beside the server."),
]


def demo_command(
    password: Annotated[
        str | None,
        typer.Option("--password", help="Password for every demo login (default: random)."),
    ] = None,
    db: Annotated[
        Path, typer.Option("--db", help="SQLite file to (re)build with synthetic data.")
    ] = DEFAULT_DEMO_DB,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build the database and exit.")
    ] = False,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_worker: NoWorkerOption = False,
    clients: Annotated[
        int | None,
        typer.Option(
            "--clients",
            min=10,
            help="Build a clinic of this many clients (about ten sessions each) to see it at "
            "scale; default: the small demo.",
        ),
    ] = None,
    history: Annotated[
        int,
        typer.Option(
            "--history",
            min=0,
            help="Past clients with one closed episode each, simulated with a known "
            "alliance -> outcome effect, for the outcomes page.",
        ),
    ] = 300,
) -> None:
    """Build a demo clinic with a synthetic caseload, print the logins, and serve it."""
    db = db.resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("ALLIANCE_WEB_DIR", str(db.parent))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    # Links in the demo's messages lead to this server unless the operator said otherwise.
    os.environ.setdefault("ALLIANCE_BASE_URL", url.rstrip("/"))
    password = password or secrets.token_urlsafe(9)
    open_web_database()
    from alliance.web.demo import LOGINS, seed

    result = seed(password, clients=clients, history=history)
    db.chmod(0o600)  # synthetic, but a real database holds health data: private by default
    typer.echo(f"alliance demo: {result['clients']} synthetic clients in {db}")
    typer.echo(f"Logins: {', '.join(LOGINS)} (also counselor3, another team)")
    if result["history"]:
        typer.echo(f"History: {result['history']} closed episodes for the outcomes page")
    if result["added"]:
        added = result["added"]
        typer.echo(f"More counselors: {added[0]} … {added[-1]} ({len(added)}, both teams)")
    typer.echo(f"Password for every login: {password}")
    if no_serve:
        # The same ALLIANCE_WEB_DIR, so `serve` finds the field keys the demo was written with.
        web_dir = shlex.quote(os.environ["ALLIANCE_WEB_DIR"])
        url_arg = shlex.quote(f"sqlite:///{db}")
        typer.echo(
            f"Serve it with: ALLIANCE_WEB_DIR={web_dir} DATABASE_URL={url_arg} "
            f"alliance serve --port {port}"
        )
        return
    typer.echo(f"Open {url}  (Ctrl+C stops the server)")
    _serve(host, port, worker=not no_worker)


def serve_command(
    host: HostOption = "127.0.0.1", port: PortOption = 8000, no_worker: NoWorkerOption = False
) -> None:
    """Run the web app: apply migrations, then serve with waitress (not runserver)."""
    config = _server_config()
    open_web_database()
    _proxy_notes(config)
    if host not in ("127.0.0.1", "localhost") and not os.environ.get("ALLOWED_HOSTS"):
        typer.echo(
            "note: set ALLOWED_HOSTS to the names clients use to reach this server", err=True
        )
    typer.echo(f"alliance serving on http://{host}:{port}/", err=True)
    _serve(host, port, worker=not no_worker, config=config)


def worker_command(
    batch: Annotated[bool, typer.Option("--batch", help="Run the queued jobs, then exit.")] = False,
) -> None:
    """Run background jobs (transcript analysis) from the database queue."""
    open_web_database()
    from django.core.management import call_command

    from alliance.web.transcripts.tasks import supervise_worker

    supervise_worker()  # requeue jobs a dead worker left behind; keep watching leases
    call_command("db_worker", batch=batch, reload=False, verbosity=0, startup_delay=False)


def acting_user(username: str | None) -> User:
    """Who a command that reads the web app's clients acts as: the named active user, or the
    one clinic admin when no name is given; what they may see is the access layer's question."""
    from alliance.web.accounts.models import Role, User

    active = User.objects.filter(is_active=True)
    if username is not None:
        found = active.filter(username=username).first()
        if found is None:
            fail(f"no active user {username!r}")
        return found
    admins = list(active.filter(role=Role.ADMIN, clinic__isnull=False)[:2])
    if len(admins) != 1:
        fail("name the user to export as with --user (no single clinic admin)")
    return admins[0]
