"""`alliance serve` as it runs in production: a real waitress process, real sockets.

Idle and slow connections must not lock clients (or health checks) out, and behind a reverse
proxy the client's address and scheme come from the proxy, only when the peer is the trusted
proxy: HTTPS without redirect loops, HSTS sent, and the audit log and the lockout and link rate
limits keyed by the real client, while the same headers from anyone else are ignored.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .served_app import free_port

EXE = Path(sys.executable).with_name("alliance")
CLIENT = "203.0.113.7"  # the address a proxy reports (TEST-NET-3)
FORGED = "203.0.113.99"  # what an untrusted peer claims to be
UNTRUSTED_PEER = "127.0.0.2"  # another loopback address: a client that is not the proxy

READ_DB = """
import json, django
django.setup()
from alliance.web.accounts.models import Throttle
from alliance.web.audit.models import AuditEvent
print(json.dumps({
    "events": [[e.action, e.outcome, e.ip] for e in AuditEvent.objects.order_by("pk")],
    "throttles": sorted(Throttle.objects.values_list("key", flat=True)),
}))
"""


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a site of its own: keys, data dir, and a SQLite file or a fresh
    PostgreSQL database (named after the one DATABASE_URL names)."""
    home = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALLIANCE_", "DJANGO_"))}
    env |= {
        "ALLIANCE_WEB_DIR": str(home),
        "ALLIANCE_DATA_DIR": str(home / "data"),
        "DJANGO_SETTINGS_MODULE": "alliance.web.settings",
    }
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield env | {"DATABASE_URL": f"sqlite:///{home / 'site.sqlite3'}"}
        return
    import psycopg

    server, dbname = base.rsplit("/", 1)
    name = f"{dbname}_serve_{uuid.uuid4().hex[:8]}"
    admin = f"{server}/postgres"  # DATABASE_URL's own database need not exist (pytest-django)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield env | {"DATABASE_URL": f"{server}/{name}"}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def start_server(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., int]]:
    """Start `alliance serve` with extra settings; returns its port. All stop at module end."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> int:
        port = free_port()
        log = tmp_path_factory.mktemp("log") / "server.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(EXE), "serve", "--port", str(port), "--no-worker"],
                env=server_env | settings,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        _wait_for(port, proc, log)
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_for(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()}")
        try:  # any answer will do: up is up, whatever its settings make of the request
            _request(port, "GET", "/healthz")
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


@pytest.fixture(scope="module")
def proxied(start_server: Callable[..., int]) -> int:
    """Plain HTTP behind a proxy on this host (the proxy's address: 127.0.0.1)."""
    return start_server(ALLIANCE_TRUSTED_PROXY="127.0.0.1")


@pytest.fixture(scope="module")
def proxied_https(start_server: Callable[..., int]) -> int:
    """HTTPS ends at a proxy on this host, which forwards plain HTTP to the app."""
    return start_server(ALLIANCE_TRUSTED_PROXY="127.0.0.1", ALLIANCE_HTTPS="1")


def _request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    peer: str = "127.0.0.1",
) -> http.client.HTTPResponse:
    """One request from the ``peer`` address (the proxy, or another client)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(peer, 0))
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _failed_login(port: int, headers: dict[str, str], peer: str = "127.0.0.1") -> int:
    """Fetch the login form, post a wrong password with its CSRF token; the post's status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(peer, 0))
    conn.request("GET", "/accounts/login/", headers=headers)
    page = conn.getresponse()
    html = page.read().decode()
    assert page.status == 200, page.status
    cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert cookie and token
    scheme = "https" if headers.get("X-Forwarded-Proto") == "https" else "http"
    conn.request(
        "POST",
        "/accounts/login/",
        body=f"username=nobody&password=wrong&csrfmiddlewaretoken={token.group(1)}",
        headers=headers
        | {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie.group(1)}",
            "Origin": f"{scheme}://127.0.0.1:{port}",
            "Referer": f"{scheme}://127.0.0.1:{port}/accounts/login/",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def _database(server_env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", READ_DB], env=server_env, check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _untrusted_peer_available() -> None:
    try:
        with socket.socket() as sock:
            sock.bind((UNTRUSTED_PEER, 0))
    except OSError:
        pytest.skip(f"{UNTRUSTED_PEER} is not a local address here (Linux has all of 127/8)")


# --- Defect 5: idle and slow connections -------------------------------------------------


def test_server_answers_while_many_connections_sit_idle_or_slow(proxied: int) -> None:
    """150 idle connections, 20 that stop mid-headers and 10 mid-body (slow loris) are more
    than waitress's stock limit of 100; the health check still gets its 200."""
    with ExitStack() as stack:
        for _ in range(150):
            stack.enter_context(socket.create_connection(("127.0.0.1", proxied), timeout=10))
        for i in range(20):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", proxied)))
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-{i}: ".encode())
        for _ in range(10):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", proxied)))
            sock.sendall(
                b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\nusername=a"
            )
        time.sleep(1)  # let the server's event loop take them all in
        with urllib.request.urlopen(f"http://127.0.0.1:{proxied}/healthz", timeout=20) as r:
            assert (r.status, r.read()) == (200, b"ok")
        assert _request(proxied, "GET", "/accounts/login/").status == 200


def test_server_closes_connections_idle_past_the_channel_timeout(
    start_server: Callable[..., int],
) -> None:
    """A slow-loris connection (half a request, then silence) is closed, freeing its slot."""
    port = start_server(ALLIANCE_CHANNEL_TIMEOUT="1")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert sock.recv(1) == b""  # closed by the server, well before this 60 s wait ends


def test_bad_server_setting_is_one_clear_line_and_status_2(server_env: dict[str, str]) -> None:
    for name, value, expected in [
        ("ALLIANCE_CONNECTION_LIMIT", "lots", "ALLIANCE_CONNECTION_LIMIT must be a whole number"),
        ("ALLIANCE_CHANNEL_TIMEOUT", "0", "ALLIANCE_CHANNEL_TIMEOUT must be a whole number"),
        ("ALLIANCE_SERVER_THREADS", "-4", "ALLIANCE_SERVER_THREADS must be a whole number"),
        ("ALLIANCE_SERVER_PROCESSES", "0", "ALLIANCE_SERVER_PROCESSES must be a whole number"),
        ("ALLIANCE_TRUSTED_PROXY", "nginx", "ALLIANCE_TRUSTED_PROXY must be the proxy's IP"),
        ("ALLIANCE_TRUSTED_PROXY_HEADERS", "x-real-ip", "ALLIANCE_TRUSTED_PROXY_HEADERS: unknown"),
    ]:
        result = subprocess.run(
            [str(EXE), "serve", "--port", str(free_port()), "--no-worker"],
            env=server_env | {name: value},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.startswith(f"error: {expected}"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --- Defect 6: behind a reverse proxy ----------------------------------------------------


def test_https_proxy_request_is_served_with_hsts_not_redirected(proxied_https: int) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT}
    response = _request(proxied_https, "GET", "/accounts/login/", forwarded)
    assert response.status == 200, (response.status, response.getheader("Location"))
    assert "max-age=31536000" in (response.getheader("Strict-Transport-Security") or "")
    # Plain HTTP through the proxy is sent to HTTPS, once.
    response = _request(proxied_https, "GET", "/accounts/login/", {"X-Forwarded-Proto": "http"})
    assert response.status == 301
    assert response.getheader("Location", "").startswith("https://")
    assert _failed_login(proxied_https, forwarded) == 200


def test_untrusted_peer_cannot_claim_https(proxied_https: int) -> None:
    _untrusted_peer_available()
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": FORGED}
    response = _request(proxied_https, "GET", "/accounts/login/", forged, peer=UNTRUSTED_PEER)
    assert response.status == 301
    assert response.getheader("Strict-Transport-Security") is None


def test_proxy_client_address_keys_audit_lockout_and_link_limit(
    proxied: int, server_env: dict[str, str]
) -> None:
    forwarded = {"X-Forwarded-For": f"{FORGED}, {CLIENT}"}  # the proxy appended the client
    assert _failed_login(proxied, forwarded) == 200
    assert _request(proxied, "GET", "/f/" + "A" * 43 + "/", forwarded).status == 404
    db = _database(server_env)
    assert ["login", "failed", CLIENT] in db["events"]
    assert f"login-ip:{CLIENT}" in db["throttles"]
    assert f"link-miss:{CLIENT}" in db["throttles"]
    assert not any(FORGED in key for key in db["throttles"])
    assert "login-ip:127.0.0.1" not in db["throttles"]


def test_untrusted_peer_cannot_pick_its_address(proxied: int, server_env: dict[str, str]) -> None:
    _untrusted_peer_available()
    forged = {"X-Forwarded-For": FORGED}
    assert _failed_login(proxied, forged, peer=UNTRUSTED_PEER) == 200
    assert _request(proxied, "GET", "/f/" + "B" * 43 + "/", forged, peer=UNTRUSTED_PEER).status
    db = _database(server_env)
    assert ["login", "failed", UNTRUSTED_PEER] in db["events"]
    assert f"login-ip:{UNTRUSTED_PEER}" in db["throttles"]
    assert f"link-miss:{UNTRUSTED_PEER}" in db["throttles"]
    assert not any(FORGED in key for key in db["throttles"])
    assert not any(e[2] == FORGED for e in db["events"])


# --- Several server processes -------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _serving(pid: int, count: int) -> set[int] | None:
    """The server processes under ``pid``, once there are ``count`` of them."""
    found = _children(pid)
    return found if len(found) == count else None


def _until(check: Callable[[], Any], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_serve_forks_processes_replaces_one_that_dies_and_stops_them_all(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    """One Python process serves one request's Python at a time, so `serve` runs
    ALLIANCE_SERVER_PROCESSES copies on one socket; a copy killed is replaced, and stopping the
    server stops every copy."""
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(EXE), "serve", "--port", str(port), "--no-worker"],
            env=server_env | {"ALLIANCE_SERVER_PROCESSES": "3"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(port, proc, log)
        first = _until(lambda: _serving(proc.pid, 3))
        os.kill(min(first), 9)
        again = _until(lambda: (now := _serving(proc.pid, 3)) != first and now)
        assert len(again & first) == 2  # the two left alone kept serving
        for _ in range(10):
            assert _request(port, "GET", "/healthz").status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()
    assert all(not Path(f"/proc/{pid}").exists() for pid in again), "a server process was left"
