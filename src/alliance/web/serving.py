"""How ``alliance serve`` runs waitress: capacity and trusted-proxy settings from the environment.

Waitress serves every connection from one event loop and only hands complete requests to its
worker threads, so idle or slow connections cost a file descriptor each, not a thread. What
stops the server is its *connection limit*: once that many channels are open it stops
accepting, and new clients (health checks included) wait in the kernel's backlog until an idle
channel times out. The defaults here keep that limit far above what a clinic opens and close
idle channels quickly. Behind a reverse proxy, waitress itself takes the client address and
scheme from the proxy's headers, only when the peer is the trusted proxy, so Django, the
audit log and the rate limits all see the real client (docs/operations.md).
"""

from __future__ import annotations

import ipaddress
import resource
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from alliance.web.env import envint, envlist, envstr
from alliance.web.limits import MAX_REQUEST_BODY

THREADS = 8
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
