"""A session recording bigger than a transcript goes through the production server.

Before: waitress refused every body over 8 MiB with 413, so a real recording (tens of MB)
never reached the upload view. Now it reaches it and gets the view's own answer."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from .served_app import own_database, served

pytestmark = pytest.mark.web
PASSWORD = "served-Recording-pass-7"
SETUP = f"""
from alliance.web.accounts.models import Clinic, Team, User
from alliance.web.clinic.services import create_client, next_session
clinic = Clinic.objects.create(name="Recording clinic", recording_max_mb=20)
team = Team.objects.create(clinic=clinic, name="Team")
user = User(username="counselor", role="counselor", clinic=clinic, team=team)
user.set_password({PASSWORD!r})
user.save()
client = create_client(clinic, user, "Rae Recorded")
print(next_session(client.current_episode()).pk)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("served-recording")
    with own_database(home) as url, served(home, url, SETUP) as base:
        yield base


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "no CSRF token"
    return found.group(1)


def _multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="recording"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = b"".join(parts) + head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_recording_over_the_old_8_mib_limit_reaches_the_upload_view(server: str) -> None:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(server + "/accounts/login/", timeout=30) as page:
        token = _csrf(page.read().decode())
    login = urllib.parse.urlencode(
        {"username": "counselor", "password": PASSWORD, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(server + "/accounts/login/", data=login)
    request.add_header("Referer", server + "/accounts/login/")
    with opener.open(request, timeout=30) as page:
        html = page.read().decode()
    session = re.search(r"/clients/(\d+)/", html)
    assert session, "logged in to the caseload"
    with opener.open(server + f"/clients/{session.group(1)}/sessions/", timeout=30) as page:
        sessions_page = page.read().decode()
    form = sessions_page[sessions_page.index('id="recording-form"') :]
    session_pk = re.search(r'<option value="(\d+)"', form)
    assert session_pk, "the sessions page offers the recording upload"
    fields = {"csrfmiddlewaretoken": _csrf(form), "session": session_pk.group(1)}
    body, kind = _multipart(fields, "session.m4a", b"not audio at all " * 600_000)  # ~10 MB
    request = urllib.request.Request(server + "/recordings/upload/", data=body)
    request.add_header("Content-Type", kind)
    request.add_header("Referer", server + f"/clients/{session.group(1)}/sessions/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request, timeout=60)
    assert refused.value.code == 400  # the view's answer, not waitress's 413
    page = refused.value.read().decode()
    assert "this is not a recording" in page, page[page.find("<main") :][:600]
