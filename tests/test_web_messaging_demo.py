"""The demo sends a real invitation: `alliance demo` with its email settings pointing at an SMTP
server started here emails the demo client's before-session questions within a minute of
starting, and the emailed link opens the questions on the demo's own server."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

import pytest

from alliance.web.demo import DEMO_SENDER, INVITED_EMAIL

from .served_app import free_port
from .test_web_messaging import Inbox, parts, smtp_env, smtp_server
from .test_web_operations_cli import ALLIANCE, ON_POSTGRES, PASSWORD, clean_env, running

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="the demo builds a SQLite file")


def test_the_demo_emails_an_invitation_whose_link_opens_the_questions(tmp_path: Path) -> None:
    inbox, port = Inbox(), free_port()
    command = [ALLIANCE, "demo", "--db", str(tmp_path / "demo.sqlite3"), "--password", PASSWORD]
    with smtp_server(inbox) as smtp_port:
        env = clean_env(
            ALLIANCE_DATA_DIR=str(tmp_path / "data"),  # the links follow --port by themselves
            **smtp_env(smtp_port),
        )
        with running([*command, "--port", str(port)], env, port, cwd=tmp_path) as url:
            started = time.monotonic()
            while not inbox.messages and time.monotonic() - started < 60:
                time.sleep(0.2)
            assert inbox.messages, "no invitation within a minute of the demo serving"
            [(to, message)] = inbox.messages
            assert to == [INVITED_EMAIL]
            assert message["Subject"] == f"A few questions from {DEMO_SENDER}"
            link = re.findall(r"http://\S+/f/\S+/", parts(message)["text/plain"])[0]
            assert link.startswith(url)
            with urllib.request.urlopen(link, timeout=10) as page:  # follows the redirect
                body = page.read().decode()
            assert page.url.endswith("/1/") and "Questionnaire 1 of 2" in body
