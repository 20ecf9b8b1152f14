"""How ``alliance serve`` runs waitress: capacity and trusted-proxy settings from the environment.

Waitress serves every connection from one event loop and only hands complete requests to its
worker threads, so idle or slow connections cost a file descriptor each, not a thread. What
stops the server is its *connection limit*: once that many channels are open it stops
accepting, and new clients (health checks included) wait in the kernel's backlog until an idle
channel times out. The defaults here keep that limit far above what a clinic opens and close
idle channels quickly. Behind a reverse proxy, waitress itself takes the client address and
scheme from the proxy's headers, only when the peer is the trusted proxy, so Django, the
audit log and the rate limits all see the real client (docs/operations.md).

One Python process runs one request's Python code at a time, so a single process cannot use a
second core: ``ALLIANCE_SERVER_PROCESSES`` forks that many copies of the server onto one listening
socket (the kernel hands each new connection to one of them), and the parent restarts a copy that
dies. Nothing the pages share lives only in one process's memory (``docs/architecture.md``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from alliance.web.env import envint, envlist, envstr
from alliance.web.limits import MAX_REQUEST_BODY

THREADS = 8
# One server process per core, up to four: past that a clinic runs more machines.
PROCESSES = max(1, min(4, os.cpu_count() or 1))
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 30
# Descriptors beyond the connections: listening sockets, database connections, log files.
SPARE_FILES = 64
PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port")
DEFAULT_PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-proto")


@dataclass(frozen=True)
class ServerConfig:
    """Waitress settings for one ``alliance serve`` process."""

    threads: int = THREADS
    processes: int = PROCESSES
    connection_limit: int = CONNECTION_LIMIT
    channel_timeout: int = CHANNEL_TIMEOUT
    trusted_proxy: str | None = None
    trusted_proxy_count: int = 1
    trusted_proxy_headers: tuple[str, ...] = field(default=DEFAULT_PROXY_HEADERS)

    def waitress_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``waitress.serve``."""
        kwargs: dict[str, Any] = {
            "threads": self.threads,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.channel_timeout,
            # Idle channels are swept this often, so one lingers at most ~4/3 of the timeout.
            "cleanup_interval": max(1, self.channel_timeout // 3),
            # select() cannot watch descriptors above 1023; poll() has no such ceiling.
            "asyncore_use_poll": True,
            "backlog": 1024,
            # Refuse oversized bodies before they are read (the largest legitimate post is a
            # transcript upload; alliance.web.limits), so a huge one never reaches Django.
            "max_request_body_size": MAX_REQUEST_BODY,
            # Forwarding headers from any peer but the trusted proxy are dropped, never obeyed.
            "clear_untrusted_proxy_headers": True,
        }
        if self.trusted_proxy is not None:
            kwargs["trusted_proxy"] = self.trusted_proxy
            kwargs["trusted_proxy_count"] = self.trusted_proxy_count
            kwargs["trusted_proxy_headers"] = set(self.trusted_proxy_headers)
        return kwargs


def from_environ(env: Mapping[str, str]) -> ServerConfig:
    """Read the ``ALLIANCE_*`` server settings; a bad value raises ``ImproperlyConfigured``
    naming the variable and what it accepts."""
    return ServerConfig(
        threads=envint("ALLIANCE_SERVER_THREADS", THREADS, min=1, max=256, env=env),
        processes=envint("ALLIANCE_SERVER_PROCESSES", PROCESSES, min=1, max=64, env=env),
        connection_limit=envint(
            "ALLIANCE_CONNECTION_LIMIT", CONNECTION_LIMIT, min=10, max=100_000, env=env
        ),
        channel_timeout=envint(
            "ALLIANCE_CHANNEL_TIMEOUT", CHANNEL_TIMEOUT, min=1, max=3600, env=env
        ),
        trusted_proxy=_proxy(envstr("ALLIANCE_TRUSTED_PROXY", "", env=env).strip()),
        trusted_proxy_count=envint("ALLIANCE_TRUSTED_PROXY_COUNT", 1, min=1, max=10, env=env),
        trusted_proxy_headers=tuple(
            envlist(
                "ALLIANCE_TRUSTED_PROXY_HEADERS",
                DEFAULT_PROXY_HEADERS,
                choices=PROXY_HEADERS,
                env=env,
            )
        ),
    )


logger = logging.getLogger(__name__)
Serve = Callable[[list[socket.socket]], None]


def serve_forked(host: str, port: int, processes: int, serve: Serve) -> None:
    """Bind ``host:port`` once, then run ``serve(sockets)`` in ``processes`` forked children
    until this process is told to stop (SIGTERM or Ctrl+C raise here), then stop them.

    A child that exits is replaced, so one crash never takes the clinic offline. The caller
    closes its database connections first: a connection must never cross a fork."""
    listening = _listen(host, port)
    children: set[int] = set()
    try:
        while True:
            while len(children) < processes:
                children.add(_fork(serve, listening))
            time.sleep(0.5)
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children.discard(pid)
                    logger.error(
                        "server process %s exited (status %s); starting another", pid, status
                    )
    finally:
        _stop(children)
        listening.close()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind((host, port))
    listening.listen(1024)
    return listening


def _fork(serve: Serve, listening: socket.socket) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        serve([listening])
    except (SystemExit, KeyboardInterrupt):
        pass
    except BaseException:
        logger.exception("server process failed")
        code = 1
    finally:
        # Never return into the parent's code (its cleanup is the parent's to run).
        os._exit(code)


def _stop(children: set[int], timeout: float = 10) -> None:
    for pid in children:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while children and time.monotonic() < deadline:
        for pid in list(children):
            if os.waitpid(pid, os.WNOHANG)[0]:
                children.discard(pid)
        time.sleep(0.05)
    for pid in children:
        _signal(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _proxy(raw: str) -> str | None:
    if not raw:
        return None
    if raw == "*":
        return raw
    try:
        # Waitress compares the peer address as text, so write it the way sockets report it.
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ImproperlyConfigured(
            f"ALLIANCE_TRUSTED_PROXY must be the proxy's IP address (e.g. 127.0.0.1) or *, "
            f"not {raw!r}"
        ) from None


def ensure_open_files(config: ServerConfig) -> int:
    """Raise this process's open-file limit to fit the connection limit, and return the
    connection limit that fits (lower, only when the hard limit is lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = config.connection_limit + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft == resource.RLIM_INFINITY:
        return config.connection_limit
    return min(config.connection_limit, soft - SPARE_FILES)
