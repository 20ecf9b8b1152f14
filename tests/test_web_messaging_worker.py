"""Scheduled messages survive their worker: real ``alliance worker`` processes on a database
file (or a PostgreSQL database of their own) and a real SMTP server, the worker killed with
``kill -9`` while a mail server holds one message mid-send.

The other due message goes out after the restart; the one caught mid-send is not sent again
(it may have left: at most once), and becomes ``unknown`` once its lease has passed.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .test_web_messaging import Inbox, smtp_env, smtp_server
from .test_web_transcript_worker import Site, database_url, until

__all__ = ["database_url"]  # the fixture, shared with the transcript worker tests

SETUP = """
import datetime as dt
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.utils import timezone
from alliance.web.accounts.models import Clinic, Role, Team, User
from alliance.web.clinic.services import create_client, next_session
from alliance.web.messaging.services import save_contact
clinic = Clinic.objects.create(name="Worker clinic")
team = Team.objects.create(clinic=clinic, name="Team")
user = User.objects.create(username="couns", role=Role.COUNSELOR, clinic=clinic, team=team)
start = timezone.localtime() + dt.timedelta(hours=2)
for name, address in (("Alex", "alex@example.org"), ("Bo", "bo@example.org")):
    client = create_client(clinic, user, name)
    next_session(client.current_episode(), start.date(), starts_at=start.time())
    contact = {"email": address, "mobile": "", "first_name": "", "email_consent": True,
               "sms_consent": False, "consent_how": "verbal", "consent_note": ""}
    save_contact(client.pk, contact, user.pk)
"""
UNKNOWN_LATER = """
import datetime as dt
import django
django.setup()
from django.utils import timezone
from alliance.web.messaging.tasks import SEND_LEASE, mark_unknown
print(mark_unknown(timezone.now() + SEND_LEASE + dt.timedelta(seconds=1)))
"""


class HoldingInbox(Inbox):
    """Holds the first message's DATA until released (the worker is killed meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.held.is_set():
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Connection lost before the end of data"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    else:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    running = Site(tmp_path, database_url)
    try:
        yield running
    finally:
        running.stop_all()


def messages(site: Site) -> list[tuple[str, str]]:
    rows = site.query("SELECT kind, status FROM messaging_message ORDER BY id")
    return [(str(k), str(s)) for k, s in rows]


def test_a_killed_workers_due_messages_go_out_after_restart_and_none_twice(site: Site) -> None:
    inbox = HoldingInbox()
    with smtp_server(inbox) as port:
        site.env |= smtp_env(port)
        subprocess.run([sys.executable, "-c", SETUP], env=site.env, check=True, timeout=300)
        first = site.start("worker")  # schedules both invitations as it starts, sends one
        until(inbox.held.is_set, 120, "the first send to reach the mail server", site)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        inbox.release.set()
        assert sorted(messages(site)) == [("invitation", "queued"), ("invitation", "sending")]

        site.start("worker")
        until(lambda: ("invitation", "sent") in messages(site), 120, "the other message", site)
        assert len(inbox.messages) == 1  # the held one was not sent again
        assert sorted(messages(site)) == [
            ("invitation", "sending"),
            ("invitation", "sent"),
            ("reminder", "queued"),  # the sent one's reminder, for two days later
        ]
        later = subprocess.run(
            [sys.executable, "-c", UNKNOWN_LATER],
            env=site.env,
            check=True,
            timeout=120,
            capture_output=True,
        )
        assert later.stdout.decode().split() == ["1"]
        assert sorted(messages(site)) == [
            ("invitation", "sent"),
            ("invitation", "unknown"),  # shown to the counselor; resent only by hand
            ("reminder", "queued"),
        ]
